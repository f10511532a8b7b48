// The DBC files of ../shared/dbc that every DBC test runs over.
const DBC_ROOT = new URL("../../../shared/dbc/", import.meta.url);

/** The text of a corpus file, e.g. "cantools/motohawk.dbc" (Latin-1, as DBC files are). */
export function readDbc(path: string): string {
  return new TextDecoder("latin1").decode(Deno.readFileSync(new URL(path, DBC_ROOT)));
}

/** Every .dbc file of the corpus, as "folder/name.dbc", sorted. */
export function corpus(): string[] {
  const files: string[] = [];
  for (const dir of ["cantools", "opendbc"]) {
    for (const entry of Deno.readDirSync(new URL(`${dir}/`, DBC_ROOT))) {
      if (entry.name.endsWith(".dbc")) files.push(`${dir}/${entry.name}`);
    }
  }
  return files.sort();
}
