// Reading the DBC files given with --dbc: each is parsed once at start, so a
// bad file stops the server with its line and column instead of reaching the page.
import { parseDbc } from "../core/dbc/parse.ts";
import { decodeDbcText } from "../core/dbc/text.ts";
import type { DbcFile } from "./http/dbc_list.ts";

/**
 * Reads and checks DBC files.
 *
 * @param paths File paths.
 * @returns Each file's name (the path's last part) and text.
 * @throws {SyntaxError} When a file is not DBC: the message names the file, line and column.
 * @throws {Deno.errors.NotFound} When a file is missing.
 * @example
 * ```ts
 * import { readDbcFiles } from "./dbc_files.ts";
 * const path = await Deno.makeTempFile({ suffix: ".dbc" });
 * await Deno.writeTextFile(path, 'BO_ 1 M: 1 X\n SG_ S : 0|8@1+ (1,0) [0|0] "" X\n');
 * const [file] = await readDbcFiles([path]);
 * if (!path.endsWith(file.name)) throw new Error();
 * await Deno.remove(path);
 * ```
 */
export async function readDbcFiles(paths: readonly string[]): Promise<DbcFile[]> {
  const files: DbcFile[] = [];
  for (const path of paths) {
    const text = decodeDbcText(await Deno.readFile(path));
    try {
      parseDbc(text);
    } catch (error) {
      if (error instanceof SyntaxError) throw new SyntaxError(`${path}: ${error.message}`);
      throw error;
    }
    files.push({ name: path.split(/[\\/]/).pop() || path, text });
  }
  return files;
}
