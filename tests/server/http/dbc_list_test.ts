import { dbcList } from "../../../server/http/dbc_list.ts";
import { TokenTable } from "../../../server/access/auth.ts";
import { assertEquals } from "../../_helpers/assert.ts";

const FILES = [{ name: "a.dbc", text: "BO_ 1 A: 8 X\n" }, {
  name: "b.dbc",
  text: "BO_ 2 B: 8 X\n",
}];

Deno.test("GET /api/dbc lists every offered file with its text", async () => {
  const response = dbcList(new Request("http://localhost/api/dbc"), FILES, null, { failed() {} });
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("cache-control"), "no-store");
  assertEquals(await response.json(), { files: FILES });
});

Deno.test("GET /api/dbc takes a valid token when the server has tokens, and counts wrong ones", async () => {
  const tokens = new TokenTable([{ token: "reader-0123456789", role: "ro" }]);
  const failures: string[] = [];
  const attempt = { failed: (why: string) => void failures.push(why) };
  const ask = (authorization?: string) =>
    dbcList(
      new Request("http://localhost/api/dbc", {
        headers: authorization ? { authorization } : {},
      }),
      FILES,
      tokens,
      attempt,
    );
  const missing = ask();
  assertEquals([missing.status, await missing.json()], [401, { tokenRequired: true }]);
  assertEquals(failures, []);
  const wrong = ask("Bearer guess-0000000000");
  assertEquals(wrong.status, 401);
  await wrong.body?.cancel();
  assertEquals(failures, ["wrong token (GET /api/dbc)"]);
  const right = ask("Bearer reader-0123456789");
  assertEquals([right.status, (await right.json()).files.length], [200, 2]);
});
