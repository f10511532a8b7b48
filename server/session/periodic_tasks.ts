// The periodic tasks one client runs on its bus, keyed by arbitration id as
// the protocol keys them, within the client's limits: a shortest period, a
// number of tasks, the id allowlist, and a total rate no higher than its
// transmit rate.
import type { Bus, PeriodicTask } from "../../core/bus.ts";
import { type CanFrame, validateFrame } from "../../core/frame.ts";
import { checkPeriod } from "../../core/_periodic.ts";
import type { Limits } from "../limits.ts";
import type { Transmitter } from "./transmit.ts";

/**
 * One client's periodic tasks. Refusals go to the client as `error` events
 * through `sendError`.
 *
 * @example Starting, restarting with a new frame, stopping
 * ```ts
 * import { PeriodicTasks } from "./periodic_tasks.ts";
 * import { Transmitter } from "./transmit.ts";
 * import { DEFAULT_LIMITS } from "../limits.ts";
 * import { VirtualBus } from "../../core/virtual_bus.ts";
 * import { createFrame } from "../../core/frame.ts";
 * await using bus = VirtualBus.open({ channel: "periodic-example" });
 * const stats = { received: 0, sent: 0, dropped: 0, rateLimited: 0, errors: 0 };
 * const errors: string[] = [];
 * const sendError = (message: string) => errors.push(message);
 * const tasks = new PeriodicTasks(DEFAULT_LIMITS, new Transmitter(DEFAULT_LIMITS, stats, sendError), sendError);
 * tasks.start(bus, createFrame({ arbitrationId: 0x100, data: [1] }), 0.1, null);
 * tasks.start(bus, createFrame({ arbitrationId: 0x100, data: [2] }), 0.1, null); // modifies it
 * tasks.stop(0x100);
 * tasks.stop(0x100);
 * if (errors.length !== 1 || !errors[0].startsWith("No periodic task")) throw new Error(errors.join());
 * ```
 */
export class PeriodicTasks {
  #limits: Limits;
  #transmitter: Transmitter;
  #sendError: (message: string) => void;
  #tasks = new Map<number, PeriodicTask>();

  /**
   * @param limits `minPeriod`, `maxPeriodicTasks` and `maxSendRate` apply.
   * @param transmitter The client's transmit path: its rate and id allowlist apply to starts.
   * @param sendError Tells the client why something was refused.
   */
  constructor(
    limits: Limits,
    transmitter: Transmitter,
    sendError: (message: string) => void,
  ) {
    this.#limits = limits;
    this.#transmitter = transmitter;
    this.#sendError = sendError;
  }

  /**
   * Handles a `periodic_start`: starts a task, or changes the frame of the
   * running task with this id when the period is the same and there is no
   * duration, or replaces it.
   *
   * @param bus The client's bus.
   * @param frame The frame; its arbitration id names the task.
   * @param period Seconds between two transmissions.
   * @param duration Seconds the task runs, or `null` until stopped.
   */
  start(bus: Bus, frame: CanFrame, period: number, duration: number | null): void {
    // A start sends at once and may replace a task: it counts against the rate.
    if (!this.#transmitter.admit()) return;
    try {
      // The configured minimum first: it is the one the client has to meet here.
      if (period < this.#limits.minPeriod) {
        throw new RangeError(`period must be at least ${this.#limits.minPeriod} s, got ${period}`);
      }
      checkPeriod(period, duration);
      const checked = validateFrame(frame);
      const id = checked.arbitrationId;
      const refusal = this.#transmitter.idRefusal(id);
      if (refusal) throw new RangeError(refusal);
      const rate = this.#rate(id) + 1 / period;
      if (rate > this.#limits.maxSendRate * (1 + 1e-9)) {
        throw new RangeError(
          `periodic tasks would send ${
            Math.round(rate)
          } frames/s, above the limit of ${this.#limits.maxSendRate}`,
        );
      }
      const existing = this.#tasks.get(id);
      if (existing && !existing.stopped && existing.period === period && duration === null) {
        existing.modify(checked);
        return;
      }
      existing?.stop();
      if (!existing && this.#tasks.size >= this.#limits.maxPeriodicTasks) {
        this.#prune();
        if (this.#tasks.size >= this.#limits.maxPeriodicTasks) {
          throw new RangeError(
            `At most ${this.#limits.maxPeriodicTasks} periodic tasks per client`,
          );
        }
      }
      this.#tasks.set(
        id,
        bus.sendPeriodic(checked, period, { duration: duration ?? undefined }),
      );
    } catch (error) {
      this.#sendError(`Invalid periodic_start: ${(error as Error).message}`);
    }
  }

  /**
   * Handles a `periodic_stop`.
   *
   * @param id The arbitration id of the task.
   */
  stop(id: number): void {
    const task = this.#tasks.get(id);
    this.#tasks.delete(id);
    if (!task || task.stopped) {
      return this.#sendError(`No periodic task with arbitration id ${id} (0x${id.toString(16)})`);
    }
    task.stop();
  }

  /** Forgets every task; closing the bus stops them. */
  clear(): void {
    this.#tasks.clear();
  }

  // Frames per second the running tasks send, without the one for `except`.
  #rate(except: number): number {
    let rate = 0;
    for (const [id, task] of this.#tasks) {
      if (id !== except && !task.stopped) rate += 1 / task.period;
    }
    return rate;
  }

  #prune(): void {
    for (const [id, task] of this.#tasks) if (task.stopped) this.#tasks.delete(id);
  }
}
