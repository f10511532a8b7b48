/**
 * The shapes a DBC file loads into: messages, signals, value tables.
 *
 * Names follow the DBC keywords they come from (`BO_` a message, `SG_` a
 * signal, `VAL_` a signal's value descriptions, `CM_` a comment).
 *
 * @module
 */

/** How a signal's raw bits are read: integer, or IEEE 754 (`SIG_VALTYPE_` 1 or 2). */
export type DbcValueType = "integer" | "float32" | "float64";

/** The multiplexor a signal depends on and the raw values that select it. */
export interface DbcMultiplexing {
  /** Name of the multiplexor signal in the same message. */
  multiplexor: string;
  /** Inclusive raw-value ranges `[low, high]` that select the signal. */
  ranges: readonly (readonly [number, number])[];
}

/** One `SG_` line, with everything later statements attach to it. */
export interface DbcSignal {
  /** Signal name, unique in its message. */
  readonly name: string;
  /** DBC start bit: the least significant bit for Intel, the most significant for Motorola. */
  readonly startBit: number;
  /** Length in bits, 1-64. */
  readonly length: number;
  /** `"little"` for Intel (`@1`), `"big"` for Motorola (`@0`). */
  readonly byteOrder: "little" | "big";
  /** Two's complement (`-`) rather than unsigned (`+`). */
  readonly signed: boolean;
  /** Integer or IEEE float, from `SIG_VALTYPE_`. */
  readonly valueType: DbcValueType;
  /** physical = raw × factor + offset. */
  readonly factor: number;
  /** physical = raw × factor + offset. */
  readonly offset: number;
  /** Smallest physical value; equal to `maximum` (usually 0|0) when the file leaves the range open. */
  readonly minimum: number;
  /** Largest physical value. */
  readonly maximum: number;
  /** Physical unit, possibly empty. */
  readonly unit: string;
  /** Nodes that receive the signal. */
  readonly receivers: readonly string[];
  /** `CM_ SG_` text, when present. */
  readonly comment?: string;
  /** Raw value to text, from `VAL_`. */
  readonly labels: ReadonlyMap<number, string>;
  /** `true` when other signals of the message depend on this one's value (`M` or `mNM`). */
  readonly isMultiplexor: boolean;
  /** Set when the signal appears only for some values of a multiplexor (`mN` or `SG_MUL_VAL_`). */
  readonly multiplexing?: DbcMultiplexing;
  /** Raw value for `encode` when none is given (`GenSigStartValue`), default 0. */
  readonly initialRaw: number;
  /** Factor and offset as written, for decimal-exact scaling. */
  readonly factorText: string;
  /** Factor and offset as written, for decimal-exact scaling. */
  readonly offsetText: string;
}

/** One `BO_` block. */
export interface DbcMessage {
  /** Message name, unique in the file. */
  readonly name: string;
  /** 11-bit or 29-bit identifier (the DBC's bit 31 removed). */
  readonly arbitrationId: number;
  /** `true` for a 29-bit identifier (DBC id with bit 31 set). */
  readonly isExtendedId: boolean;
  /** `true` when `VFrameFormat` says CAN FD. */
  readonly isFd: boolean;
  /** `true` when `VFrameFormat` says J1939PG: frames match by PGN, whatever the source address. */
  readonly isJ1939: boolean;
  /** Payload size in bytes. */
  readonly length: number;
  /** Sending node, `Vector__XXX` for none. */
  readonly sender: string;
  /** `CM_ BO_` text, when present. */
  readonly comment?: string;
  /** `GenMsgCycleTime` in milliseconds, when the file gives a non-zero one. */
  readonly cycleTime?: number;
  /** Signals in file order. */
  readonly signals: readonly DbcSignal[];
}

/** One `BU_` node. */
export interface DbcNode {
  /** Node name. */
  readonly name: string;
  /** `CM_ BU_` text, when present. */
  readonly comment?: string;
}

/** A decoded signal: its physical value, unit and value description. */
export interface DecodedSignal {
  /** Physical value: raw × factor + offset. */
  value: number;
  /** Raw value; a bigint for integer signals wider than 52 bits. */
  raw: number | bigint;
  /** Physical unit, possibly empty. */
  unit: string;
  /** Text the value table gives this raw value, if any. */
  label?: string;
}

/** What {@linkcode DbcDatabase.decode} returns for a known message. */
export interface DecodedMessage {
  /** Message name. */
  name: string;
  /** Signals present in the frame, by name; multiplexed ones only when selected. */
  signals: Record<string, DecodedSignal>;
}

/** Values for {@linkcode DbcDatabase.encode}: physical numbers or value-table labels. */
export type SignalValues = Record<string, number | bigint | string>;
