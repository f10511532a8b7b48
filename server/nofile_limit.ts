// At start the server raises its soft limit of open files to the hard one:
// every client costs a descriptor, and Linux's usual soft limit (1024) is
// far below the hard one (often 524288). Deno has no setrlimit, so
// util-linux's prlimit does it; where that is missing or refused, the
// limit stays and is reported as it is.

/** Whether a permission is granted, without prompting for it. */
function granted(descriptor: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(descriptor).state === "granted";
}

/**
 * The soft and hard RLIMIT_NOFILE of this process, from /proc (Linux), or
 * null (also without read permission for it: nothing prompts for it).
 */
export function readNofileLimit(): { soft: number; hard: number } | null {
  if (!granted({ name: "read", path: "/proc/self/limits" })) return null;
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
    if (!match) return null;
    const value = (s: string) => s === "unlimited" ? Infinity : Number(s);
    return { soft: value(match[1]), hard: value(match[2]) };
  } catch {
    return null;
  }
}

/**
 * Raises the soft open-file limit to the hard one where allowed.
 *
 * @returns The soft limit in force afterwards, or null where it cannot be read (not Linux).
 * @example
 * ```ts
 * import { raiseNofileLimit, readNofileLimit } from "./nofile_limit.ts";
 * const limit = await raiseNofileLimit();
 * if (limit !== null && limit !== readNofileLimit()!.soft) throw new Error();
 * ```
 */
export async function raiseNofileLimit(): Promise<number | null> {
  const before = readNofileLimit();
  if (!before || before.soft >= before.hard) return before?.soft ?? null;
  if (!granted({ name: "run", command: "prlimit" })) return before.soft;
  const hard = before.hard === Infinity ? "unlimited" : String(before.hard);
  try {
    await new Deno.Command("prlimit", {
      args: [`--pid=${Deno.pid}`, `--nofile=${hard}:${hard}`],
      stdout: "null",
      stderr: "null",
    }).output();
  } catch {
    // no prlimit: the limit stays
  }
  return readNofileLimit()?.soft ?? before.soft;
}
