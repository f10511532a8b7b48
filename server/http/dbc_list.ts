// GET /api/dbc: the DBC files the server offers the web page (--dbc FILE,
// and --demo's own), so the page decodes signals without a file picked by
// hand. With tokens it takes a valid one, as /api/channels does: a DBC file
// says what the bus carries.
import type { TokenTable } from "../access/auth.ts";
import type { AccessAttempt } from "../access/access_attempt.ts";
import { bearerGrant } from "./channel_list.ts";

/** A DBC file offered by the server: a name to show and its text. */
export interface DbcFile {
  /** File name, e.g. `vehicle.dbc`. */
  name: string;
  /** The file's text. */
  text: string;
}

/**
 * Answers `GET /api/dbc` with JSON `{ "files": [{ "name", "text" }, ...] }`.
 *
 * @param request The request; its `Authorization` header may carry a token.
 * @param files The files to offer.
 * @param tokens The tokens in force, or `null` when the server requires none.
 * @param attempt Where a wrong token is counted.
 * @returns 200 with the files, or the 401 of a missing or wrong token.
 * @example
 * ```ts
 * import { dbcList } from "./dbc_list.ts";
 * const files = [{ name: "demo.dbc", text: 'BO_ 1 M: 1 X\n' }];
 * const response = dbcList(new Request("http://localhost/api/dbc"), files, null, { failed() {} });
 * const body = await response.json();
 * if (body.files[0].name !== "demo.dbc") throw new Error();
 * ```
 */
export function dbcList(
  request: Request,
  files: readonly DbcFile[],
  tokens: TokenTable | null,
  attempt: Pick<AccessAttempt, "failed">,
): Response {
  const grant = bearerGrant(request, tokens, attempt, "GET /api/dbc");
  if (grant instanceof Response) return grant;
  return Response.json(
    { files: files.map(({ name, text }) => ({ name, text })) },
    { headers: { "cache-control": "no-store" } },
  );
}
