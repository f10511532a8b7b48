/**
 * The C library functions SocketCAN needs, opened on first use so that
 * importing this module needs no permission.
 *
 * @module
 */

/** The libc symbol table, with each C signature as a trailing comment. */
export const LIBC_SYMBOLS = {
  // int socket(int domain, int type, int protocol);
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // int setsockopt(int sockfd, int level, int optname, const void *optval, socklen_t optlen);
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  // int getsockopt(int sockfd, int level, int optname, void *optval, socklen_t *optlen);
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  // int recvmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags,
  //              struct timespec *timeout);
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  // ssize_t recv(int sockfd, void *buf, size_t len, int flags);
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  // ssize_t write(int fd, const void *buf, size_t count);
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout);  -- on a worker thread
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  // int close(int fd);
  close: { parameters: ["i32"], result: "i32" },
  // int ioctl(int fd, unsigned long request, struct ifreq *argp);  (variadic in C)
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  // unsigned int if_nametoindex(const char *ifname);
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  // int eventfd(unsigned int initval, int flags);
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  // int *__errno_location(void);
  __errno_location: { parameters: [], result: "pointer" },
  // char *strerror(int errnum);
  strerror: { parameters: ["i32"], result: "pointer" },
  // int fwide(FILE *stream, int mode);
  fwide: { parameters: ["pointer", "i32"], result: "i32" },
  // extern FILE *stderr;
  stderr: { type: "pointer" },
} as const;

/** The opened symbols of {@linkcode LIBC_SYMBOLS}. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

let library: Deno.DynamicLibrary<typeof LIBC_SYMBOLS> | undefined;

/**
 * Opens the C library on the first call and returns its symbols.
 *
 * @returns The symbols of {@linkcode LIBC_SYMBOLS}.
 * @throws {Deno.errors.NotCapable} Without `--allow-ffi`.
 * @example
 * ```ts
 * import { libc } from "./libc.ts";
 * const fd = libc().eventfd(0, 0);
 * if (fd < 0 || libc().close(fd) !== 0) throw new Error("eventfd failed");
 * ```
 */
export function libc(): Libc {
  library ??= Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  return library.symbols;
}

/**
 * Encodes a string as a NUL-terminated C string.
 *
 * @param text The string.
 * @returns Its UTF-8 bytes followed by a zero byte.
 * @example
 * ```ts
 * import { cString } from "./libc.ts";
 * if (cString("lo").length !== 3) throw new Error();
 * ```
 */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${text}\0`);
}
