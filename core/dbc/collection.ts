/**
 * Several DBC files at once, as the tools (`--dbc` repeated) and the web page
 * (files picked, dropped or offered by the server) use them.
 *
 * @module
 */

import type { CanFrame } from "../frame.ts";
import type { EncodeOptions } from "./codec.ts";
import type { DbcDatabase, DecodableFrame } from "./database.ts";
import type { DbcMessage, DecodedMessage, SignalValues } from "./types.ts";

/** One file of a {@linkcode DbcCollection}. */
export interface NamedDbc {
  /** File name. */
  readonly name: string;
  /** Its parsed content. */
  readonly database: DbcDatabase;
}

/**
 * DBC files by name; the first file that knows a frame's id decodes it.
 *
 * @example
 * ```ts
 * import { DbcCollection } from "./collection.ts";
 * import { parseDbc } from "./parse.ts";
 * const dbcs = new DbcCollection();
 * dbcs.set("body.dbc", parseDbc('BO_ 1 Doors: 1 X\n SG_ Open : 0|1@1+ (1,0) [0|1] "" X\n'));
 * dbcs.set("engine.dbc", parseDbc('BO_ 2 Engine: 1 X\n SG_ On : 0|1@1+ (1,0) [0|1] "" X\n'));
 * const frame = dbcs.encode("Engine", { On: 1 });
 * if (dbcs.decode(frame)?.name !== "Engine") throw new Error();
 * ```
 */
export class DbcCollection {
  #files: NamedDbc[] = [];
  #generation = 0;

  /** The files, in the order they were added. */
  get files(): readonly NamedDbc[] {
    return this.#files;
  }

  /** Bumped on every change, so a view knows to rebuild. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Adds a file, or replaces the one of the same name in its place.
   *
   * @param name File name.
   * @param database Its parsed content.
   */
  set(name: string, database: DbcDatabase): void {
    const at = this.#files.findIndex((f) => f.name === name);
    if (at >= 0) this.#files[at] = { name, database };
    else this.#files.push({ name, database });
    this.#generation++;
  }

  /**
   * Removes a file.
   *
   * @param name File name.
   * @returns Whether it was there.
   */
  delete(name: string): boolean {
    const before = this.#files.length;
    this.#files = this.#files.filter((f) => f.name !== name);
    if (this.#files.length === before) return false;
    this.#generation++;
    return true;
  }

  /**
   * The message a frame carries, from the first file that knows its id.
   *
   * @param frame The frame's id fields.
   * @returns The message, or `undefined`.
   */
  messageFor(frame: Pick<CanFrame, "arbitrationId" | "isExtendedId">): DbcMessage | undefined {
    for (const { database } of this.#files) {
      const message = database.messageFor(frame);
      if (message) return message;
    }
    return undefined;
  }

  /**
   * Decodes a frame with the first file that knows its id.
   *
   * @param frame A received frame.
   * @returns See {@linkcode DbcDatabase.decode}.
   */
  decode(frame: DecodableFrame): DecodedMessage | undefined {
    for (const { database } of this.#files) {
      const decoded = database.decode(frame);
      if (decoded) return decoded;
    }
    return undefined;
  }

  /**
   * The first file holding a message of this name.
   *
   * @param messageName Message name.
   * @returns The file's database, or `undefined`.
   */
  databaseOf(messageName: string): DbcDatabase | undefined {
    return this.#files.find((f) => f.database.getMessage(messageName))?.database;
  }

  /**
   * Builds a frame from signal values, with the first file holding the message.
   *
   * @param messageName Message name.
   * @param values Physical values or labels by signal name.
   * @param options Raw instead of physical values.
   * @returns The frame.
   * @throws {RangeError} When no file has the message, or a value is out of range.
   */
  encode(messageName: string, values: SignalValues, options?: EncodeOptions): CanFrame {
    const database = this.databaseOf(messageName);
    if (!database) {
      throw new RangeError(`No message named ${JSON.stringify(messageName)} in the DBC files`);
    }
    return database.encode(messageName, values, options);
  }
}
