// Private: the receive side of a RemoteBus. Frames the server sends pass the
// local filters into the receive queue; `error` events and undecodable
// messages reject the next receive and are dispatched as "error" events;
// `dropped` notices are counted and dispatched as "dropped" events.
import { type CanFilter, matchesFilters } from "../core/bus.ts";
import { RemoteError } from "../core/errors.ts";
import type { CanEvent } from "../core/events.ts";
import type { FrameQueue } from "../core/_frame_queue.ts";
import type { DroppedDetail } from "./events.ts";
import type { BusHealth } from "../core/bus_health.ts";

/**
 * Hands what the server sends to a bus's receive queue and listeners.
 *
 * @example
 * ```ts
 * import { RemoteInbox } from "./inbox.ts";
 * import { FrameQueue } from "../core/_frame_queue.ts";
 * import { createFrame } from "../core/frame.ts";
 * const target = new EventTarget();
 * const queue = new FrameQueue();
 * const inbox = new RemoteInbox(target, queue, [{ canId: 0x100, canMask: 0x700 }]);
 * let notices = 0;
 * target.addEventListener("dropped", () => notices++);
 * const frames = [0x123, 0x200].map((id) => createFrame({ arbitrationId: id, isExtendedId: false }));
 * inbox.event({ type: "message_batch", frames });
 * inbox.event({ type: "dropped", count: 3, total: 3 });
 * if (queue.poll()?.arbitrationId !== 0x123 || queue.poll() !== undefined) throw new Error();
 * if (inbox.dropped !== 3 || notices !== 1) throw new Error();
 * ```
 */
export class RemoteInbox {
  /** Filters for received frames; `null` passes everything. */
  filters: CanFilter[] | null;
  #target: EventTarget;
  #queue: FrameQueue;
  #serverDropped = 0;

  /**
   * @param target Where the "error" and "dropped" events are dispatched (the bus).
   * @param queue The bus's receive queue.
   * @param filters Checked filters; `null` passes everything.
   */
  constructor(target: EventTarget, queue: FrameQueue, filters: CanFilter[] | null) {
    this.#target = target;
    this.#queue = queue;
    this.filters = filters;
  }

  /** Frames the server reported dropping plus those the full queue dropped. */
  get dropped(): number {
    return this.#serverDropped + this.#queue.dropped;
  }

  /**
   * Set while the bus closes: frames are no longer received, but `error`
   * events about what was sent before are still dispatched (not queued).
   */
  closing = false;

  /** The latest `bus_state` report, or `null` before the first. */
  busState: BusHealth | null = null;

  /** Takes one event from the server once the connection is open. */
  event(event: CanEvent): void {
    if (this.closing) {
      if (event.type === "error") this.#dispatchError(new RemoteError(event.message));
      return;
    }
    switch (event.type) {
      case "message":
        if (matchesFilters(event.frame, this.filters)) this.#queue.push(event.frame);
        return;
      case "message_batch":
        for (const frame of event.frames) {
          if (matchesFilters(frame, this.filters)) this.#queue.push(frame);
        }
        return;
      case "error":
        return this.report(new RemoteError(event.message));
      case "dropped":
        this.#serverDropped += event.count;
        this.#target.dispatchEvent(
          new CustomEvent<DroppedDetail>("dropped", {
            detail: { count: event.count, total: event.total },
          }),
        );
        return;
      case "bus_state":
        this.busState = event.health;
        this.#target.dispatchEvent(
          new CustomEvent<BusHealth>("busstate", { detail: event.health }),
        );
        return;
      default: // bus_request, bus_response, periodic_*: nothing for a client to do
    }
  }

  /** Queues an error for the next receive and dispatches it as an "error" event. */
  report(error: RemoteError): void {
    this.#queue.push(error);
    this.#dispatchError(error);
  }

  #dispatchError(error: RemoteError): void {
    this.#target.dispatchEvent(new ErrorEvent("error", { error, message: error.message }));
  }
}
