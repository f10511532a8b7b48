/**
 * A loaded DBC file: look messages up, decode frames, encode signal values.
 *
 * @module
 */

import { type CanFrame, createFrame } from "../frame.ts";
import { decodeSignals, type EncodeOptions, encodeSignals } from "./codec.ts";
import type { DbcMessage, DbcNode, DecodedMessage, SignalValues } from "./types.ts";

/** The frame fields {@linkcode DbcDatabase.decode} reads. */
export type DecodableFrame = Pick<
  CanFrame,
  "arbitrationId" | "isExtendedId" | "isRemoteFrame" | "isErrorFrame" | "data"
>;

/** What {@linkcode DbcDatabase}'s constructor takes; {@linkcode parseDbc} builds it. */
export interface DbcDatabaseInit {
  /** `VERSION` string. */
  version: string;
  /** `BU_` nodes. */
  nodes: readonly DbcNode[];
  /** Messages in file order. */
  messages: readonly DbcMessage[];
  /** `VAL_TABLE_` tables by name. */
  valueTables: ReadonlyMap<string, ReadonlyMap<number, string>>;
}

// J1939 parameter group number of a 29-bit id: PDU1 formats (PF < 240) carry a
// destination address in PS, which is no part of the PGN (SAE J1939-21 5.1.2).
function pgnOf(id: number): number {
  const pgn = (id >> 8) & 0x3ffff;
  return ((pgn >> 8) & 0xff) < 240 ? pgn & 0x3ff00 : pgn;
}

const key = (id: number, extended: boolean) => (extended ? id + 0x100000000 : id);

/**
 * A DBC file's messages, signals, nodes and value tables; {@linkcode parseDbc} makes one.
 *
 * @example
 * ```ts
 * import { parseDbc } from "./parse.ts";
 * const db = parseDbc('BO_ 2364540158 EEC1: 8 Engine\n SG_ EngineSpeed : 24|16@1+ (0.125,0) [0|8031.875] "rpm" Vector__XXX\nBA_DEF_ BO_ "VFrameFormat" ENUM "StandardCAN","ExtendedCAN","reserved","J1939PG";\nBA_ "VFrameFormat" BO_ 2364540158 3;');
 * const frame = db.encode("EEC1", { EngineSpeed: 1500 });
 * // J1939 messages match whatever the source address
 * const decoded = db.decode({ ...frame, arbitrationId: frame.arbitrationId - 0xfe + 0x03 });
 * if (decoded?.signals.EngineSpeed.value !== 1500) throw new Error();
 * ```
 */
export class DbcDatabase {
  /** `VERSION` string, often empty. */
  readonly version: string;
  /** `BU_` nodes. */
  readonly nodes: readonly DbcNode[];
  /** Messages in file order. */
  readonly messages: readonly DbcMessage[];
  /** `VAL_TABLE_` tables by name. */
  readonly valueTables: ReadonlyMap<string, ReadonlyMap<number, string>>;
  #byId = new Map<number, DbcMessage>();
  #byPgn = new Map<number, DbcMessage>();
  #byName = new Map<string, DbcMessage>();

  /**
   * Wraps parsed content; use {@linkcode parseDbc} rather than calling this.
   *
   * @param init The parsed content.
   */
  constructor(init: DbcDatabaseInit) {
    this.version = init.version;
    this.nodes = init.nodes;
    this.messages = init.messages;
    this.valueTables = init.valueTables;
    for (const message of init.messages) {
      this.#byId.set(key(message.arbitrationId, message.isExtendedId), message);
      this.#byName.set(message.name, message);
      if (message.isJ1939) {
        const pgn = pgnOf(message.arbitrationId);
        if (!this.#byPgn.has(pgn)) this.#byPgn.set(pgn, message);
      }
    }
  }

  /**
   * Finds a message by name.
   *
   * @param name Message name.
   * @returns The message, or `undefined`.
   * @example
   * ```ts
   * import { parseDbc } from "./parse.ts";
   * const db = parseDbc('BO_ 1 Status: 1 X\n');
   * if (db.getMessage("Status")?.arbitrationId !== 1) throw new Error();
   * ```
   */
  getMessage(name: string): DbcMessage | undefined {
    return this.#byName.get(name);
  }

  /**
   * Finds the message a frame carries: by exact id, then for a J1939 message by PGN.
   *
   * @param frame The frame's id fields.
   * @returns The message, or `undefined`.
   * @example
   * ```ts
   * import { parseDbc } from "./parse.ts";
   * const db = parseDbc('BO_ 291 Status: 1 X\n');
   * if (db.messageFor({ arbitrationId: 0x123, isExtendedId: false })?.name !== "Status") throw new Error();
   * ```
   */
  messageFor(frame: Pick<CanFrame, "arbitrationId" | "isExtendedId">): DbcMessage | undefined {
    const exact = this.#byId.get(key(frame.arbitrationId, frame.isExtendedId));
    if (exact || !frame.isExtendedId || this.#byPgn.size === 0) return exact;
    return this.#byPgn.get(pgnOf(frame.arbitrationId));
  }

  /**
   * Decodes a frame's signals.
   *
   * @param frame A received frame.
   * @returns The message name and its present signals (multiplexed ones only
   *   when selected; ones past a short payload left out), or `undefined` for an
   *   unknown id, a remote frame or an error frame.
   * @example
   * ```ts
   * import { parseDbc } from "./parse.ts";
   * import { createFrame } from "../frame.ts";
   * const db = parseDbc('BO_ 291 Status: 1 X\n SG_ On : 0|1@1+ (1,0) [0|1] "" X\nVAL_ 291 On 0 "Off" 1 "On" ;');
   * const decoded = db.decode(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1] }));
   * if (decoded?.signals.On.label !== "On") throw new Error();
   * ```
   */
  decode(frame: DecodableFrame): DecodedMessage | undefined {
    if (frame.isRemoteFrame || frame.isErrorFrame) return undefined;
    const message = this.messageFor(frame);
    if (!message) return undefined;
    return { name: message.name, signals: decodeSignals(message, frame.data) };
  }

  /**
   * Builds a frame from signal values.
   *
   * @param messageName Message name.
   * @param values Physical values or labels by signal name; see {@linkcode encodeSignals}.
   * @param options Raw instead of physical values.
   * @returns A frame with the message's id, length and CAN FD flag.
   * @throws {RangeError} When the message is unknown, or a value is outside its signal's range.
   * @throws {TypeError} When a value is neither a number, a bigint nor a string.
   * @example
   * ```ts
   * import { parseDbc } from "./parse.ts";
   * const db = parseDbc('BO_ 291 Status: 1 X\n SG_ Level : 0|4@1+ (1,0) [0|10] "" X\n');
   * if (db.encode("Status", { Level: 7 }).data[0] !== 7) throw new Error();
   * try {
   *   db.encode("Status", { Level: 11 });
   *   throw new Error("not reached");
   * } catch (error) {
   *   if (!(error instanceof RangeError)) throw error; // Signal "Level" of "Status" must be within 0-10
   * }
   * ```
   */
  encode(messageName: string, values: SignalValues, options?: EncodeOptions): CanFrame {
    const message = this.#byName.get(messageName);
    if (!message) throw new RangeError(`No message named ${JSON.stringify(messageName)}`);
    return createFrame({
      arbitrationId: message.arbitrationId,
      isExtendedId: message.isExtendedId,
      isFd: message.isFd,
      data: encodeSignals(message, values, options),
    });
  }
}
