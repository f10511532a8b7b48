/**
 * Errors that callers branch on. Bad input uses the built-in `TypeError`,
 * `RangeError` and `SyntaxError`; timeouts use `AbortSignal.timeout()`.
 *
 * @module
 */

/**
 * A failure of the CAN layer itself, with a machine-readable `code`
 * (an errno name such as `"ENETDOWN"`, or a canremote code such as `"READ_ONLY"`).
 *
 * @example
 * ```ts
 * import { CanError } from "./errors.ts";
 * const error = new CanError("ENODEV", 'Cannot bind to "vcan9": no such device');
 * if (error.code !== "ENODEV") throw new Error();
 * ```
 */
export class CanError extends Error {
  /** Machine-readable reason. */
  readonly code: string;
  /**
   * Creates a CAN-layer error with its machine-readable reason.
   *
   * @param code Machine-readable reason.
   * @param message Human-readable text that quotes the offending value.
   * @param options Standard error options (`cause`).
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CanError";
    this.code = code;
  }
}

/**
 * Thrown by operations on a bus that is closed, and by pending `receive()`
 * calls when the bus closes under them.
 *
 * @example
 * ```ts
 * import { BusClosedError } from "./errors.ts";
 * if (!(new BusClosedError() instanceof Error)) throw new Error();
 * ```
 */
export class BusClosedError extends Error {
  /**
   * Creates the error for an operation on a closed bus.
   *
   * @param message What was closed.
   * @param options Standard error options (`cause`, such as a {@linkcode RemoteError}).
   */
  constructor(message = "The bus is closed", options?: ErrorOptions) {
    super(message, options);
    this.name = "BusClosedError";
  }
}

/**
 * An error the remote side reported: an `error` event (`code` is `undefined`)
 * or a WebSocket close (`code` is the close code, `reason` its reason).
 *
 * @example
 * ```ts
 * import { RemoteError } from "./errors.ts";
 * const error = new RemoteError("Going away", { code: 1001 });
 * if (error.code !== 1001) throw new Error();
 * ```
 */
export class RemoteError extends Error {
  /** WebSocket close code, when the error is a close. */
  readonly code?: number;
  /**
   * Creates an error the remote side reported, with the close code for a close.
   *
   * @param message The server's text.
   * @param options `code` for a close, plus standard error options.
   */
  constructor(message: string, options: ErrorOptions & { code?: number } = {}) {
    super(message, options);
    this.name = "RemoteError";
    this.code = options.code;
  }
}
