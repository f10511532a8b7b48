// A throw-away private CA and the server certificates it signs, made with the
// openssl command line for the TLS tests (which skip without openssl, see
// _requires.ts). Test tooling only.

/** A CA and its leaf certificates, as PEM text and as files in `dir`. */
export interface Pki<Name extends string> {
  /** The folder holding ca.pem, ca.key, and NAME.pem and NAME.key for each leaf. */
  dir: string;
  /** The CA certificate (ca.pem). */
  ca: string;
  /** Each leaf's certificate (NAME.pem) and private key (NAME.key). */
  leaves: Record<Name, { cert: string; key: string }>;
}

/**
 * Runs `openssl` with `args` in `dir`.
 *
 * @throws {Error} with openssl's error output when it fails.
 */
export async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

/**
 * Makes a CA in `dir` and, for each name in `leaves`, a certificate it signed
 * for that subjectAltName (such as `"DNS:localhost,IP:127.0.0.1"`), all P-256
 * keys valid for a day.
 *
 * @throws {Error} when openssl fails.
 */
export async function makePki<Name extends string>(
  dir: string,
  leaves: Record<Name, string>,
): Promise<Pki<Name>> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const day = ["-days", "1"];
  await openssl(
    dir,
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    ...day,
    "-subj",
    "/CN=canremote test CA",
  );
  const read = (file: string) => Deno.readTextFile(`${dir}/${file}`);
  const made = {} as Record<Name, { cert: string; key: string }>;
  for (const [name, san] of Object.entries(leaves) as [Name, string][]) {
    await openssl(
      dir,
      "req",
      ...ec,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    );
    await Deno.writeTextFile(
      `${dir}/${name}.ext`,
      `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`,
    );
    await openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      ...day,
      "-extfile",
      `${name}.ext`,
    );
    made[name] = { cert: await read(`${name}.pem`), key: await read(`${name}.key`) };
  }
  return { dir, ca: await read("ca.pem"), leaves: made };
}
