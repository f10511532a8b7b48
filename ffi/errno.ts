/**
 * Linux errno values: their names, the calling thread's current value, and
 * the {@linkcode CanError} that reports a failed system call.
 *
 * @module
 */

import { CanError } from "../core/errors.ts";
import { libc } from "./libc.ts";

// asm-generic/errno-base.h and asm-generic/errno.h: the numbering of x86-64,
// arm64 and riscv64 (not of alpha, mips, parisc or sparc).
const NAMES =
  "EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT " +
  "ENOTBLK EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG " +
  "ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY " +
  "ELOOP - ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG EUNATCH ENOCSI EL2HLT EBADE EBADR " +
  "EXFULL ENOANO EBADRQC EBADSLT - EBFONT ENOSTR ENODATA ETIME ENOSR ENONET ENOPKG EREMOTE " +
  "ENOLINK EADV ESRMNT ECOMM EPROTO EMULTIHOP EDOTDOT EBADMSG EOVERFLOW ENOTUNIQ EBADFD EREMCHG " +
  "ELIBACC ELIBBAD ELIBSCN ELIBMAX ELIBEXEC EILSEQ ERESTART ESTRPIPE EUSERS ENOTSOCK " +
  "EDESTADDRREQ EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ESOCKTNOSUPPORT EOPNOTSUPP " +
  "EPFNOSUPPORT EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET " +
  "ECONNABORTED ECONNRESET ENOBUFS EISCONN ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT " +
  "ECONNREFUSED EHOSTDOWN EHOSTUNREACH EALREADY EINPROGRESS ESTALE EUCLEAN ENOTNAM ENAVAIL " +
  "EISNAM EREMOTEIO EDQUOT ENOMEDIUM EMEDIUMTYPE ECANCELED ENOKEY EKEYEXPIRED EKEYREVOKED " +
  "EKEYREJECTED EOWNERDEAD ENOTRECOVERABLE ERFKILL EHWPOISON";
const BY_NUMBER: readonly string[] = ["", ...NAMES.split(" ")];
const BY_NAME = new Map<string, number>(BY_NUMBER.map((name, n) => [name, n]));

/**
 * Names an errno value.
 *
 * @param errno A Linux errno value such as 19.
 * @returns Its name (`"ENODEV"`), or `"E<number>"` for a value without one.
 * @example
 * ```ts
 * import { errnoName } from "./errno.ts";
 * if (errnoName(100) !== "ENETDOWN") throw new Error();
 * ```
 */
export function errnoName(errno: number): string {
  const name = BY_NUMBER[errno];
  return name && name !== "-" ? name : `E${errno}`;
}

/**
 * Looks up the number of an errno name.
 *
 * @param name A name such as `"ENOBUFS"`.
 * @returns Its Linux value.
 * @throws {RangeError} When the name is unknown.
 * @example
 * ```ts
 * import { errnoNumber } from "./errno.ts";
 * if (errnoNumber("ENOBUFS") !== 105) throw new Error();
 * ```
 */
export function errnoNumber(name: string): number {
  const n = BY_NAME.get(name);
  if (n === undefined || n === 0 || name === "-") {
    throw new RangeError(`Unknown errno name "${name}"`);
  }
  return n;
}

/**
 * Reads `errno` of the calling thread, which is only meaningful right after
 * a failed synchronous FFI call (a `nonblocking` call runs on another thread).
 *
 * @returns The current errno value.
 * @example
 * ```ts
 * import { lastErrno, setErrno } from "./errno.ts";
 * setErrno(22);
 * if (lastErrno() !== 22) throw new Error();
 * ```
 */
export function lastErrno(): number {
  return new Deno.UnsafePointerView(libc().__errno_location()!).getInt32();
}

/**
 * Sets `errno` of the calling thread, so that a library that fails without
 * setting it can be told apart (it then still reads 0).
 *
 * @param value The new value.
 * @example
 * ```ts
 * import { lastErrno, setErrno } from "./errno.ts";
 * setErrno(0);
 * if (lastErrno() !== 0) throw new Error();
 * ```
 */
export function setErrno(value: number): void {
  // UnsafePointerView has no setter: write through a buffer over the pointer.
  new Int32Array(Deno.UnsafePointerView.getArrayBuffer(libc().__errno_location()!, 4))[0] = value;
}

/**
 * Describes an errno value the way `strerror(3)` does, starting in lower case
 * so that it reads well after a colon.
 *
 * @param errno A Linux errno value.
 * @returns Text such as `"no such device"`.
 * @example
 * ```ts
 * import { describeErrno } from "./errno.ts";
 * if (describeErrno(19) !== "no such device") throw new Error();
 * ```
 */
export function describeErrno(errno: number): string {
  const text = Deno.UnsafePointerView.getCString(libc().strerror(errno)!);
  return /^[A-Z][a-z]/.test(text) ? text[0].toLowerCase() + text.slice(1) : text;
}

/**
 * Builds the error for a failed system call: a {@linkcode CanError} whose
 * `code` is the errno name and whose message is `"<what>: <strerror>"`.
 *
 * @param what What failed, quoting the interface: `Cannot bind to "vcan9"`.
 * @param errno The errno value; defaults to the current one.
 * @param hint Extra words appended in parentheses.
 * @returns The error, ready to throw.
 * @example
 * ```ts
 * import { errnoError } from "./errno.ts";
 * const error = errnoError('Cannot bind to "vcan9"', 19);
 * if (error.code !== "ENODEV") throw new Error();
 * if (error.message !== 'Cannot bind to "vcan9": no such device') throw new Error();
 * ```
 */
export function errnoError(what: string, errno: number = lastErrno(), hint?: string): CanError {
  const text = `${what}: ${describeErrno(errno)}${hint ? ` (${hint})` : ""}`;
  return new CanError(errnoName(errno), text);
}
