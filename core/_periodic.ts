// Periodic transmission on top of a send function, shared by the local
// backends (virtual, SocketCAN) and by the server's per-client tasks.
import type { PeriodicOptions, PeriodicTask } from "./bus.ts";
import { type CanFrame, validateFrame } from "./frame.ts";
import { after } from "./_sleep.ts";

/** Shortest period accepted, in seconds (1 ms). */
export const MIN_PERIOD = 0.001;

/**
 * Checks a period and a duration given in seconds.
 * @throws {RangeError} For a period below 1 ms or a negative or non-finite value.
 */
export function checkPeriod(period: unknown, duration?: unknown): void {
  if (typeof period !== "number" || !Number.isFinite(period) || period < MIN_PERIOD) {
    throw new RangeError(`period must be at least ${MIN_PERIOD} s, got ${period}`);
  }
  if (
    duration !== undefined && duration !== null &&
    (typeof duration !== "number" || !Number.isFinite(duration) || duration < 0)
  ) {
    throw new RangeError(`duration must be a non-negative number of seconds, got ${duration}`);
  }
}

/**
 * Checks the frame `modify()` gives a periodic task that now sends `current`.
 * @returns The frame, validated.
 * @throws {TypeError} When a field of `frame` has the wrong type.
 * @throws {RangeError} When `frame` breaks a CAN rule or has another arbitration id.
 */
export function checkModifiedFrame(current: CanFrame, frame: CanFrame): CanFrame {
  const checked = validateFrame(frame);
  if (checked.arbitrationId !== current.arbitrationId) {
    throw new RangeError(
      `A periodic task keeps its arbitration id 0x${current.arbitrationId.toString(16)}, got 0x${
        checked.arbitrationId.toString(16)
      }`,
    );
  }
  return checked;
}

/**
 * A task that calls `send` every `period` seconds, on a schedule that does
 * not drift: each run is planned from the start time, not from the last run.
 */
export class LocalPeriodicTask implements PeriodicTask {
  #frame: CanFrame;
  readonly period: number;
  #send: (frame: CanFrame) => void;
  #onStop: (task: LocalPeriodicTask) => void;
  #cancel: (() => void) | undefined;
  #start = performance.now();
  #count = 0;
  #end: number;
  #stopped = false;

  constructor(
    frame: CanFrame,
    period: number,
    send: (frame: CanFrame) => void,
    onStop: (task: LocalPeriodicTask) => void = () => {},
    options: PeriodicOptions = {},
  ) {
    checkPeriod(period, options.duration);
    this.#frame = validateFrame(frame);
    this.period = period;
    this.#send = send;
    this.#onStop = onStop;
    this.#end = options.duration === undefined || options.duration === null
      ? Infinity
      : this.#start + options.duration * 1000;
    this.#tick();
  }

  get frame(): CanFrame {
    return this.#frame;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  modify(frame: CanFrame): void {
    this.#frame = checkModifiedFrame(this.#frame, frame);
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#cancel?.();
    this.#onStop(this);
  }

  #tick = (): void => {
    if (this.#stopped) return;
    const now = performance.now();
    // Decide on the planned time, so a 50 ms task with a 0.5 s duration sends
    // 11 frames (at 0, 50, ..., 500 ms) as python-can's tasks do.
    if (this.#start + this.#count * this.period * 1000 > this.#end) return this.stop();
    try {
      this.#send(this.#frame);
    } catch {
      return this.stop();
    }
    this.#count++;
    let next = this.#start + this.#count * this.period * 1000;
    if (next < now) { // fell behind (a paused process): skip the missed runs
      this.#count = Math.ceil((now - this.#start) / (this.period * 1000));
      next = this.#start + this.#count * this.period * 1000;
    }
    if (next > this.#end) {
      this.#cancel = after(Math.max(0, this.#end - now), () => this.stop());
      return;
    }
    this.#cancel = after(Math.max(0, next - now), this.#tick);
  };
}
