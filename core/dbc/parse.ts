/**
 * Reads Vector's DBC text into a {@linkcode DbcDatabase}.
 *
 * The grammar is the one in Vector's "DBC File Format Documentation" 1.0.5,
 * as cantools and canmatrix read it: `BO_`/`SG_` blocks, `VAL_`,
 * `VAL_TABLE_`, `CM_`, `BA_DEF_`/`BA_DEF_DEF_`/`BA_`, `SIG_VALTYPE_`,
 * `SG_MUL_VAL_` and `BU_`. Statements this library has no use for (`EV_`,
 * `SIG_GROUP_`, `BO_TX_BU_`, relation attributes ...) are read and skipped.
 *
 * @module
 */

import { syntaxError, type Token, tokenize } from "./_lexer.ts";
import { bytesNeeded } from "./bits.ts";
import { DbcDatabase } from "./database.ts";
import type { DbcMessage, DbcMultiplexing, DbcNode, DbcSignal, DbcValueType } from "./types.ts";

// Statements read up to their ";" and dropped.
const SKIPPED = new Set([
  "BO_TX_BU_",
  "BA_DEF_REL_",
  "BA_REL_",
  "BA_DEF_DEF_REL_",
  "BU_SG_REL_",
  "BU_EV_REL_",
  "BU_BO_REL_",
  "EV_",
  "ENVVAR_DATA_",
  "SGTYPE_",
  "SGTYPE_VAL_",
  "BA_DEF_SGTYPE_",
  "BA_SGTYPE_",
  "SIG_TYPE_REF_",
  "SIG_GROUP_",
  "SIGTYPE_VALTYPE_",
  "CAT_DEF_",
  "CAT_",
  "FILTER",
  "EV_DATA_",
  "NS_DESC_",
]);

const KEYWORDS = new Set([
  ...SKIPPED,
  "VERSION",
  "NS_",
  "BS_",
  "BU_",
  "BO_",
  "SG_",
  "VAL_TABLE_",
  "VAL_",
  "CM_",
  "BA_DEF_",
  "BA_DEF_DEF_",
  "BA_",
  "SIG_VALTYPE_",
  "SG_MUL_VAL_",
]);

// Vector's holder for signals that belong to no message (id 0xC0000000).
const INDEPENDENT_SIGNALS = 0xc0000000;

interface Where {
  line: number;
  column: number;
}

interface SignalDraft {
  name: string;
  where: Where;
  indicator?: string;
  startBit: number;
  length: number;
  byteOrder: "little" | "big";
  signed: boolean;
  valueType: DbcValueType;
  factorText: string;
  offsetText: string;
  minimum: number;
  maximum: number;
  unit: string;
  receivers: string[];
  comment?: string;
  labels: Map<number, string>;
  muxRanges?: { multiplexor: string; ranges: [number, number][]; where: Where };
  initialRaw?: number;
}

interface MessageDraft {
  dbcId: number;
  name: string;
  where: Where;
  length: number;
  sender: string;
  comment?: string;
  signals: SignalDraft[];
  byName: Map<string, SignalDraft>;
  attributes: Map<string, number | string>;
}

interface AttributeDefinition {
  kind: string;
  enumValues?: string[];
  defaultValue?: number | string;
}

class Parser {
  #tokens: Token[];
  #pos = 0;
  version = "";
  nodes: DbcNode[] = [];
  nodeComments = new Map<string, string>();
  messages: MessageDraft[] = [];
  byId = new Map<number, MessageDraft>();
  valueTables = new Map<string, Map<number, string>>();
  definitions = new Map<string, AttributeDefinition>();

  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  peek(): Token {
    return this.#tokens[this.#pos];
  }

  next(): Token {
    const token = this.#tokens[this.#pos];
    if (token.kind !== "end") this.#pos++;
    return token;
  }

  fail(token: Token, message: string): never {
    throw syntaxError(message, token.line, token.column);
  }

  describe(token: Token): string {
    if (token.kind === "end") return "end of file";
    return token.kind === "string"
      ? `the string ${JSON.stringify(token.text)}`
      : JSON.stringify(token.text);
  }

  expect(text: string): Token {
    const token = this.next();
    if (token.kind === "string" || token.text !== text) {
      this.fail(token, `expected "${text}", got ${this.describe(token)}`);
    }
    return token;
  }

  accept(text: string): boolean {
    const token = this.peek();
    if (token.kind !== "string" && token.text === text) {
      this.#pos++;
      return true;
    }
    return false;
  }

  ident(what: string): Token {
    const token = this.next();
    if (token.kind !== "ident") this.fail(token, `expected ${what}, got ${this.describe(token)}`);
    return token;
  }

  string(what: string): string {
    const token = this.next();
    if (token.kind !== "string") this.fail(token, `expected ${what}, got ${this.describe(token)}`);
    return token.text;
  }

  /** A number with an optional sign, as written. */
  numberText(what: string): [string, Token] {
    const first = this.peek();
    let sign = "";
    if (first.kind === "punct" && (first.text === "-" || first.text === "+")) {
      this.next();
      sign = first.text === "-" ? "-" : "";
    }
    const token = this.next();
    if (token.kind !== "number") this.fail(token, `expected ${what}, got ${this.describe(token)}`);
    return [sign + token.text, first];
  }

  number(what: string): number {
    return Number(this.numberText(what)[0]);
  }

  integer(what: string): number {
    const [text, token] = this.numberText(what);
    const value = Number(text);
    if (!Number.isSafeInteger(value)) this.fail(token, `expected ${what}, got "${text}"`);
    return value;
  }

  skipStatement(): void {
    for (;;) {
      const token = this.next();
      if (token.kind === "end") this.fail(token, `expected ";", got end of file`);
      if (token.kind === "punct" && token.text === ";") return;
    }
  }

  // References to messages or signals the file does not define are read and
  // dropped, as cantools and canmatrix do: real files carry them (opendbc's
  // tesla_can.dbc has a VAL_ for a signal of another message).
  message(): MessageDraft | undefined {
    return this.byId.get(this.integer("a message id"));
  }

  signal(message: MessageDraft | undefined): SignalDraft | undefined {
    const nameToken = this.ident("a signal name");
    return message?.byName.get(nameToken.text);
  }

  labels(): Map<number, string> {
    const labels = new Map<number, string>();
    while (!this.accept(";")) {
      // A missing ";" before the next statement's line is forgiven: opendbc's
      // mazda_2017.dbc ends two VAL_ lines without one (canmatrix drops those
      // two lines; their labels are plainly meant).
      const next = this.peek();
      if (next.kind === "end" || (next.kind === "ident" && next.lineStart)) break;
      const value = this.number("a value");
      labels.set(value, this.string("a value description"));
    }
    return labels;
  }

  run(): void {
    let current: MessageDraft | undefined;
    for (;;) {
      const token = this.next();
      if (token.kind === "end") return;
      if (token.kind !== "ident") {
        this.fail(token, `expected a keyword, got ${this.describe(token)}`);
      }
      const keyword = token.text;
      if (keyword !== "SG_") current = undefined;
      switch (keyword) {
        case "VERSION":
          this.version = this.string("a version string");
          break;
        case "NS_":
          this.expect(":");
          while (
            this.peek().kind === "ident" && !["BS_", "BU_", "BO_"].includes(this.peek().text)
          ) {
            this.next();
          }
          break;
        case "BS_":
          this.expect(":");
          if (this.peek().kind === "number") {
            this.integer("a baud rate");
            this.expect(":");
            this.integer("BTR1");
            this.expect(",");
            this.integer("BTR2");
          }
          break;
        case "BU_":
          this.expect(":");
          while (this.peek().kind === "ident" && !KEYWORDS.has(this.peek().text)) {
            this.nodes.push({ name: this.next().text });
          }
          break;
        case "VAL_TABLE_": {
          const name = this.ident("a value table name").text;
          this.valueTables.set(name, this.labels());
          break;
        }
        case "BO_":
          current = this.messageHeader(token);
          break;
        case "SG_":
          if (!current) this.fail(token, "SG_ outside a BO_ block");
          this.signalLine(current, token);
          break;
        case "VAL_":
          if (this.peek().kind === "number") {
            const signal = this.signal(this.message());
            const labels = this.labels();
            if (signal) signal.labels = labels;
          } else {
            this.skipStatement(); // an environment variable's values
          }
          break;
        case "CM_":
          this.comment();
          break;
        case "BA_DEF_":
          this.attributeDefinition();
          break;
        case "BA_DEF_DEF_": {
          const nameToken = this.next();
          if (nameToken.kind !== "string") this.fail(nameToken, "expected an attribute name");
          const definition = this.definitions.get(nameToken.text);
          const value = this.attributeValue();
          if (definition) definition.defaultValue = value;
          this.expect(";");
          break;
        }
        case "BA_":
          this.attribute();
          break;
        case "SIG_VALTYPE_": {
          const signal = this.signal(this.message());
          this.accept(":");
          const typeToken = this.next();
          const type = { "0": "integer", "1": "float32", "2": "float64" }[typeToken.text] as
            | DbcValueType
            | undefined;
          if (typeToken.kind !== "number" || !type) {
            this.fail(typeToken, `expected 0, 1 or 2, got ${this.describe(typeToken)}`);
          }
          if (!signal) {
            this.expect(";");
            break;
          }
          if (type !== "integer" && signal.length !== (type === "float32" ? 32 : 64)) {
            this.fail(
              typeToken,
              `signal "${signal.name}" is ${signal.length} bits long, not ${
                type === "float32" ? 32 : 64
              }`,
            );
          }
          signal.valueType = type;
          this.expect(";");
          break;
        }
        case "SG_MUL_VAL_": {
          const signal = this.signal(this.message());
          const muxToken = this.ident("a multiplexor name");
          const ranges: [number, number][] = [];
          do {
            const low = this.integer("a multiplexor value");
            this.expect("-");
            const high = this.integer("a multiplexor value");
            ranges.push([low, high]);
          } while (this.accept(","));
          this.expect(";");
          if (signal) signal.muxRanges = { multiplexor: muxToken.text, ranges, where: muxToken };
          break;
        }
        default:
          if (SKIPPED.has(keyword)) this.skipStatement();
          else this.fail(token, `unknown keyword "${keyword}"`);
      }
    }
  }

  messageHeader(token: Token): MessageDraft {
    const idToken = this.peek();
    const dbcId = this.integer("a message id");
    const name = this.ident("a message name").text;
    this.expect(":");
    const lengthToken = this.peek();
    const length = this.integer("a message length");
    if (length < 0 || length > 64) this.fail(lengthToken, `message length ${length} is not 0-64`);
    const sender = this.ident("a sending node").text;
    if (this.byId.has(dbcId)) this.fail(idToken, `message id ${dbcId} is defined twice`);
    const extended = dbcId >= 0x80000000;
    const id = extended ? dbcId - 0x80000000 : dbcId;
    if (
      dbcId !== INDEPENDENT_SIGNALS && (id > (extended ? 0x1fffffff : 0x7ff) || dbcId > 0xffffffff)
    ) {
      this.fail(idToken, `message id ${dbcId} is not an 11-bit or (with bit 31) 29-bit id`);
    }
    const message: MessageDraft = {
      dbcId,
      name,
      where: token,
      length,
      sender,
      signals: [],
      byName: new Map(),
      attributes: new Map(),
    };
    this.byId.set(dbcId, message);
    this.messages.push(message);
    return message;
  }

  signalLine(message: MessageDraft, token: Token): void {
    const nameToken = this.ident("a signal name");
    let indicator: string | undefined;
    if (this.peek().kind === "ident") {
      const t = this.next();
      if (!/^(M|m\d+M?)$/.test(t.text)) this.fail(t, `bad multiplexer indicator "${t.text}"`);
      indicator = t.text;
    }
    this.expect(":");
    const startToken = this.peek();
    const startBit = this.integer("a start bit");
    this.expect("|");
    const lengthToken = this.peek();
    const length = this.integer("a length");
    this.expect("@");
    const orderToken = this.next();
    if (orderToken.kind !== "number" || (orderToken.text !== "0" && orderToken.text !== "1")) {
      this.fail(orderToken, `expected byte order 0 or 1, got ${this.describe(orderToken)}`);
    }
    const signToken = this.next();
    if (signToken.text !== "+" && signToken.text !== "-") {
      this.fail(signToken, `expected "+" or "-", got ${this.describe(signToken)}`);
    }
    this.expect("(");
    const [factorText, factorToken] = this.numberText("a factor");
    this.expect(",");
    const [offsetText] = this.numberText("an offset");
    this.expect(")");
    this.expect("[");
    const minimum = this.number("a minimum");
    this.expect("|");
    const maximum = this.number("a maximum");
    this.expect("]");
    const unit = this.string("a unit");
    const receivers: string[] = [];
    while (this.peek().kind === "ident" && !this.peek().lineStart) {
      receivers.push(this.next().text);
      this.accept(",");
    }
    if (length < 1 || length > 64) this.fail(lengthToken, `signal length ${length} is not 1-64`);
    if (Number(factorText) === 0) this.fail(factorToken, "a factor of 0");
    const byteOrder = orderToken.text === "1" ? "little" : "big";
    if (startBit < 0 || startBit > 511 || bytesNeeded({ startBit, length, byteOrder }) > 64) {
      this.fail(startToken, `signal "${nameToken.text}" does not fit in 64 bytes`);
    }
    if (message.byName.has(nameToken.text)) {
      this.fail(nameToken, `message "${message.name}" has two signals "${nameToken.text}"`);
    }
    const signal: SignalDraft = {
      name: nameToken.text,
      where: token,
      indicator,
      startBit,
      length,
      byteOrder,
      signed: signToken.text === "-",
      valueType: "integer",
      factorText,
      offsetText,
      minimum,
      maximum,
      unit,
      receivers,
      labels: new Map(),
    };
    message.signals.push(signal);
    message.byName.set(signal.name, signal);
  }

  comment(): void {
    const token = this.peek();
    if (token.kind === "string") {
      this.next();
    } else {
      const kind = this.ident("BU_, BO_, SG_, EV_ or a string").text;
      if (kind === "BU_") {
        const node = this.ident("a node name").text;
        this.nodeComments.set(node, this.string("a comment"));
      } else if (kind === "BO_") {
        const message = this.message();
        const text = this.string("a comment");
        if (message) message.comment = text;
      } else if (kind === "SG_") {
        const signal = this.signal(this.message());
        const text = this.string("a comment");
        if (signal) signal.comment = text;
      } else if (kind === "EV_") {
        this.ident("an environment variable");
        this.string("a comment");
      } else {
        this.fail(token, `expected BU_, BO_, SG_ or EV_, got "${kind}"`);
      }
    }
    this.expect(";");
  }

  attributeDefinition(): void {
    // BU_, BO_, SG_ or EV_: which objects may carry it, which matters not here.
    if (this.peek().kind === "ident") this.next();
    const name = this.string("an attribute name");
    const kindToken = this.ident("an attribute type");
    const definition: AttributeDefinition = { kind: kindToken.text };
    if (kindToken.text === "ENUM") {
      definition.enumValues = [];
      if (this.peek().kind === "string") {
        do definition.enumValues.push(this.string("an enum value")); while (this.accept(","));
      }
    } else if (kindToken.text === "INT" || kindToken.text === "HEX" || kindToken.text === "FLOAT") {
      this.number("a minimum");
      this.number("a maximum");
    } else if (kindToken.text !== "STRING") {
      this.fail(kindToken, `unknown attribute type "${kindToken.text}"`);
    }
    this.expect(";");
    this.definitions.set(name, definition);
  }

  attributeValue(): number | string {
    return this.peek().kind === "string" ? this.next().text : this.number("an attribute value");
  }

  attribute(): void {
    const token = this.peek();
    const name = this.string("an attribute name");
    const kind = this.peek().kind === "ident" ? this.next().text : "";
    if (kind === "BO_") {
      const message = this.message();
      const value = this.attributeValue();
      message?.attributes.set(name, value);
    } else if (kind === "SG_") {
      const signal = this.signal(this.message());
      const value = this.attributeValue();
      if (signal && name === "GenSigStartValue" && typeof value === "number") {
        signal.initialRaw = value;
      }
    } else if (kind === "BU_" || kind === "EV_") {
      this.ident("a name");
      this.attributeValue();
    } else if (kind === "") {
      this.attributeValue();
    } else {
      this.fail(token, `expected BU_, BO_, SG_ or EV_, got "${kind}"`);
    }
    this.expect(";");
  }

  /** An attribute's value for a message, an enum's index turned into its text. */
  messageAttribute(message: MessageDraft, name: string): number | string | undefined {
    const definition = this.definitions.get(name);
    const value = message.attributes.get(name) ?? definition?.defaultValue;
    if (typeof value === "number" && definition?.enumValues) return definition.enumValues[value];
    return value;
  }
}

function buildMessage(parser: Parser, draft: MessageDraft): DbcMessage {
  const format = String(parser.messageAttribute(draft, "VFrameFormat") ?? "");
  const cycle = Number(parser.messageAttribute(draft, "GenMsgCycleTime") ?? 0);
  const multiplexors = draft.signals.filter((s) => s.indicator === "M");
  const signals: DbcSignal[] = draft.signals.map((s) => {
    let multiplexing: DbcMultiplexing | undefined;
    if (s.muxRanges) {
      const mux = draft.byName.get(s.muxRanges.multiplexor);
      if (!mux || !mux.indicator?.endsWith("M")) {
        throw syntaxError(
          `"${s.muxRanges.multiplexor}" is not a multiplexor of message "${draft.name}"`,
          s.muxRanges.where.line,
          s.muxRanges.where.column,
        );
      }
      multiplexing = { multiplexor: mux.name, ranges: s.muxRanges.ranges };
    } else if (s.indicator?.startsWith("m")) {
      if (multiplexors.length === 0) {
        throw syntaxError(
          `signal "${s.name}" is multiplexed but message "${draft.name}" has no multiplexor`,
          s.where.line,
          s.where.column,
        );
      }
      const value = parseInt(s.indicator.slice(1), 10);
      multiplexing = { multiplexor: multiplexors[0].name, ranges: [[value, value]] };
    }
    const signal: DbcSignal = {
      name: s.name,
      startBit: s.startBit,
      length: s.length,
      byteOrder: s.byteOrder,
      signed: s.signed,
      valueType: s.valueType,
      factor: Number(s.factorText),
      offset: Number(s.offsetText),
      minimum: s.minimum,
      maximum: s.maximum,
      unit: s.unit,
      receivers: s.receivers,
      labels: s.labels,
      isMultiplexor: s.indicator?.endsWith("M") ?? false,
      initialRaw: s.initialRaw ?? 0,
      factorText: s.factorText,
      offsetText: s.offsetText,
    };
    if (s.comment !== undefined) (signal as { comment?: string }).comment = s.comment;
    if (multiplexing) (signal as { multiplexing?: DbcMultiplexing }).multiplexing = multiplexing;
    return signal;
  });
  // A multiplexor chain that loops back on itself can never be decoded.
  const byName = new Map(signals.map((s) => [s.name, s]));
  for (const signal of signals) {
    const seen = new Set<string>();
    for (
      let s: DbcSignal | undefined = signal;
      s?.multiplexing;
      s = byName.get(s.multiplexing.multiplexor)
    ) {
      if (seen.has(s.name)) {
        const where = draft.byName.get(signal.name)!.where;
        throw syntaxError(`signal "${signal.name}" depends on itself`, where.line, where.column);
      }
      seen.add(s.name);
    }
  }
  const extended = draft.dbcId >= 0x80000000;
  const message: DbcMessage = {
    name: draft.name,
    arbitrationId: extended ? draft.dbcId - 0x80000000 : draft.dbcId,
    isExtendedId: extended,
    isFd: format.endsWith("_FD"),
    isJ1939: format === "J1939PG" && extended,
    length: draft.length,
    sender: draft.sender,
    signals,
  };
  if (draft.comment !== undefined) (message as { comment?: string }).comment = draft.comment;
  if (cycle > 0) (message as { cycleTime?: number }).cycleTime = cycle;
  return message;
}

/**
 * Reads a DBC file.
 *
 * Everything is checked before anything is returned: a file with one bad line
 * loads nothing.
 *
 * @param text The file's text (DBC files are often Latin-1: decode bytes with
 *   `new TextDecoder("latin1")` when they are not UTF-8).
 * @returns The database, ready to decode and encode frames.
 * @throws {SyntaxError} When the text is not DBC; the message gives the line and column.
 * @throws {TypeError} When `text` is not a string.
 * @example
 * ```ts
 * import { parseDbc } from "./parse.ts";
 * const db = parseDbc(`
 * BO_ 256 Engine: 8 ECU
 *  SG_ Speed : 0|16@1+ (0.25,0) [0|16383.75] "rpm" Vector__XXX
 * `);
 * const decoded = db.decode({
 *   arbitrationId: 256, isExtendedId: false, isRemoteFrame: false, isErrorFrame: false,
 *   data: Uint8Array.of(0x10, 0x27, 0, 0, 0, 0, 0, 0),
 * });
 * if (decoded?.signals.Speed.value !== 2500) throw new Error("10000 × 0.25 rpm");
 * ```
 */
export function parseDbc(text: string): DbcDatabase {
  if (typeof text !== "string") {
    throw new TypeError(`DBC text must be a string, got ${typeof text}`);
  }
  const parser = new Parser(tokenize(text));
  parser.run();
  const messages = parser.messages
    .filter((m) => m.dbcId !== INDEPENDENT_SIGNALS)
    .map((m) => buildMessage(parser, m));
  const names = new Set<string>();
  for (const [i, message] of messages.entries()) {
    if (names.has(message.name)) {
      const where = parser.messages.filter((m) => m.dbcId !== INDEPENDENT_SIGNALS)[i].where;
      throw syntaxError(`message name "${message.name}" is used twice`, where.line, where.column);
    }
    names.add(message.name);
  }
  const nodes = parser.nodes.map((node) => {
    const comment = parser.nodeComments.get(node.name);
    return comment === undefined ? node : { ...node, comment };
  });
  return new DbcDatabase({
    version: parser.version,
    nodes,
    messages,
    valueTables: parser.valueTables,
  });
}
