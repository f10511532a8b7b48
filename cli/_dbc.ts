// --dbc FILE for the tools: the files are read and checked before the bus is
// opened, so a bad file is a usage error with its line and column.
import { DbcCollection } from "../core/dbc/collection.ts";
import { parseDbc } from "../core/dbc/parse.ts";
import { decodeDbcText } from "../core/dbc/text.ts";
import type { DecodedMessage } from "../core/dbc/types.ts";
import { UsageError } from "./_common.ts";

/** The usage line of --dbc. */
export const DBC_USAGE = "      --dbc FILE          a DBC file to decode signals with; repeatable";

/**
 * Reads the DBC files given with --dbc.
 *
 * @param paths The files, in order; the first that knows a frame's id decodes it.
 * @returns The files, or `undefined` when none was given.
 * @throws {UsageError} When a file is not DBC (its name, line and column).
 */
export async function loadDbcFiles(
  paths: readonly string[] | undefined,
): Promise<DbcCollection | undefined> {
  if (!paths?.length) return undefined;
  const files = new DbcCollection();
  for (const path of paths) {
    const text = decodeDbcText(await Deno.readFile(path));
    try {
      files.set(path, parseDbc(text));
    } catch (error) {
      if (error instanceof SyntaxError) throw new UsageError(`${path}: ${error.message}`);
      throw error;
    }
  }
  return files;
}

/**
 * One line of decoded signals, as cantools' `decode --single-line` prints them:
 * `EEC1(EngineSpeed: 800 rpm, Gear: 'Third')`.
 *
 * @param decoded A decoded frame.
 * @returns The line, without a line end.
 */
export function formatSignals(decoded: DecodedMessage): string {
  const parts = Object.entries(decoded.signals).map(([name, s]) =>
    s.label !== undefined
      ? `${name}: '${s.label}'`
      : `${name}: ${s.value}${s.unit ? ` ${s.unit}` : ""}`
  );
  return `${decoded.name}(${parts.join(", ")})`;
}

/**
 * Signal values from the command line: `NAME=VALUE`, a number (`1500`,
 * `-2.5`, `0x1F`) or else a value-table label (`Gear=Third`).
 *
 * @param args The `NAME=VALUE` arguments.
 * @returns Values by signal name.
 * @throws {UsageError} For an argument without `=` or a name given twice.
 */
export function parseSignalValues(args: readonly string[]): Record<string, number | string> {
  const values: Record<string, number | string> = {};
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw new UsageError(`expected SIGNAL=VALUE, got "${arg}"`);
    const name = arg.slice(0, eq);
    const text = arg.slice(eq + 1);
    if (name in values) throw new UsageError(`signal "${name}" is given twice`);
    const number = text.trim() === "" ? NaN : Number(text);
    values[name] = Number.isFinite(number) ? number : text;
  }
  return values;
}
