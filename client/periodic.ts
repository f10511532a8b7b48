// Private: the periodic tasks of a RemoteBus, which run on the server: the
// client only keeps their state (frame, period, end time) so that `stop()`,
// `modify()`, a reconnection and `close()` can tell the server what to do.
// Tasks are keyed by arbitration id, as the protocol keys them
// (python-can-remote's periodic_stop carries the bare id).
import type { PeriodicTask } from "../core/bus.ts";
import type { CanEvent } from "../core/events.ts";
import { type CanFrame, validateFrame } from "../core/frame.ts";
import { checkModifiedFrame, checkPeriod } from "../core/_periodic.ts";
import { after } from "../core/_sleep.ts";

/** What a task asks of the bus that owns it. */
export interface PeriodicHost {
  /** Sends a `periodic_start` for the task (first start or modify) with this duration. */
  start(task: RemotePeriodicTask, duration: number | null): void;
  /** Forgets the task; sends a `periodic_stop` when `notify` is set. */
  stopped(task: RemotePeriodicTask, notify: boolean): void;
}

/** A periodic transmission that the server performs on the client's behalf. */
export class RemotePeriodicTask implements PeriodicTask {
  readonly period: number;
  #frame: CanFrame;
  #host: PeriodicHost;
  #duration: number | null;
  #end: number; // performance.now() time at which the server ends the task
  #cancelEnd: (() => void) | undefined;
  #stopped = false;

  /**
   * Checks the arguments; nothing is sent until {@linkcode RemotePeriodicTask.begin}.
   * @throws {RangeError} For an invalid frame, period or duration.
   */
  constructor(frame: CanFrame, period: number, duration: number | undefined, host: PeriodicHost) {
    checkPeriod(period, duration);
    this.#frame = validateFrame(frame);
    this.period = period;
    this.#host = host;
    this.#duration = duration ?? null;
    this.#end = duration === undefined || duration === null
      ? Infinity
      : performance.now() + duration * 1000;
  }

  get frame(): CanFrame {
    return this.#frame;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Arbitration id, the key of the task on the server. */
  get id(): number {
    return this.#frame.arbitrationId;
  }

  /** Seconds (to the millisecond) the server still has to run the task; `null` for "until stopped". */
  remaining(): number | null {
    if (this.#end === Infinity) return null;
    return Math.max(0, Math.round(this.#end - performance.now()) / 1000);
  }

  /** Sends the first `periodic_start` and arms the local end-of-duration timer. */
  begin(): void {
    this.#host.start(this, this.#duration);
    if (this.#end !== Infinity) {
      // The server ends the task by itself: only the local state changes, and
      // no periodic_stop goes out (python-can-remote closes the connection
      // with 1011 on a periodic_stop for an id it no longer runs).
      this.#cancelEnd = after(Math.max(0, this.#end - performance.now()), () => {
        if (this.#halt()) this.#host.stopped(this, false);
      });
    }
  }

  modify(frame: CanFrame): void {
    this.#frame = checkModifiedFrame(this.#frame, frame);
    // A periodic_start with the same id replaces the running task on the
    // server; a stopped task must not be started again.
    if (!this.#stopped) this.#host.start(this, this.remaining());
  }

  stop(): void {
    if (this.#halt()) this.#host.stopped(this, true);
  }

  /** Marks the task stopped without telling anyone (replaced, or the bus closed). */
  halt(): void {
    this.#halt();
  }

  #halt(): boolean {
    if (this.#stopped) return false;
    this.#stopped = true;
    this.#cancelEnd?.();
    return true;
  }
}

/**
 * The periodic tasks of one bus, keyed by arbitration id, and the events
 * that start and stop them on the server.
 *
 * @example
 * ```ts
 * import { RemotePeriodicTasks } from "./periodic.ts";
 * import type { CanEvent } from "../core/events.ts";
 * import { createFrame } from "../core/frame.ts";
 * const sent: CanEvent[] = [];
 * const tasks = new RemotePeriodicTasks((event) => sent.push(event));
 * const first = tasks.start(createFrame({ arbitrationId: 0x100 }), 0.1);
 * tasks.start(createFrame({ arbitrationId: 0x100, data: [1] }), 0.1); // replaces the first
 * tasks.stopAll(true);
 * if (!first.stopped || sent.map((e) => e.type).join() !== "periodic_start,periodic_start,periodic_stop") {
 *   throw new Error(JSON.stringify(sent));
 * }
 * ```
 */
export class RemotePeriodicTasks {
  #tasks = new Map<number, RemotePeriodicTask>();
  #send: (event: CanEvent) => void;

  /** @param send Sends an event to the server when the bus is connected, else does nothing. */
  constructor(send: (event: CanEvent) => void) {
    this.#send = send;
  }

  /**
   * Starts a task; one running with the same arbitration id is replaced
   * (on the server by the new `periodic_start`) and reports `stopped`.
   * @throws {TypeError} / {RangeError} For an invalid frame, period or duration.
   */
  start(frame: CanFrame, period: number, duration?: number): RemotePeriodicTask {
    const task = new RemotePeriodicTask(frame, period, duration, this.#host);
    this.#tasks.get(task.id)?.halt();
    this.#tasks.set(task.id, task);
    task.begin();
    return task;
  }

  /**
   * Starts the running tasks again on a new connection (the server forgot
   * them with the old one), for what is left of their duration.
   */
  restart(): void {
    for (const task of this.#tasks.values()) {
      const remaining = task.remaining();
      if (remaining === 0) continue; // ends locally any moment now
      this.#send({
        type: "periodic_start",
        period: task.period,
        duration: remaining,
        frame: task.frame,
      });
    }
  }

  /** Marks every task stopped and forgets it; `notify` sends each one's `periodic_stop`. */
  stopAll(notify: boolean): void {
    for (const task of this.#tasks.values()) {
      task.halt();
      if (notify) this.#send({ type: "periodic_stop", arbitrationId: task.id });
    }
    this.#tasks.clear();
  }

  #host: PeriodicHost = {
    start: (task, duration) => {
      if (this.#tasks.get(task.id) !== task) return;
      this.#send({ type: "periodic_start", period: task.period, duration, frame: task.frame });
    },
    stopped: (task, notify) => {
      if (this.#tasks.get(task.id) !== task) return;
      this.#tasks.delete(task.id);
      if (notify) this.#send({ type: "periodic_stop", arbitrationId: task.id });
    },
  };
}
