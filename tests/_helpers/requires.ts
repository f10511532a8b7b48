// Tests that need a Debian package (python3-can, chromium, can-utils) skip
// themselves, with a note, where it is missing, so the README's test command
// passes on a machine with only Node.js and npm. Under CI=true nothing is
// skipped: .ci/run installs the packages, and a missing one must fail.

const PROBES = {
  "python3-can": () => run("/usr/bin/python3", ["-c", "import can"]),
  "chromium": () => exists("/usr/bin/chromium"),
  "can-utils": () => exists("/usr/bin/cansend"),
  "openssl": () => run("openssl", ["version"]),
  "mosquitto": () => exists("/usr/sbin/mosquitto"),
  "nats-server": () => exists("/usr/sbin/nats-server"),
} as const;

export type Requirement = keyof typeof PROBES;

function run(command: string, args: string[]): boolean {
  try {
    return new Deno.Command(command, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const noted = new Set<string>();

/** `{ ignore }` for Deno.test: true when a requirement is missing outside CI. */
export function requires(...what: Requirement[]): { ignore: boolean } {
  const missing = what.filter((name) => !PROBES[name]());
  if (missing.length === 0 || Deno.env.get("CI")) return { ignore: false };
  for (const name of missing) {
    if (noted.has(name)) continue;
    noted.add(name);
    console.warn(`skipping tests that need ${name}: apt-get install ${name}`);
  }
  return { ignore: true };
}
