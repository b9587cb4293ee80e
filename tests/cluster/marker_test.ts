import assert from "node:assert/strict";
import { ACCESS_MARKER_HEADER, parseAccessMark } from "../../cluster/mod.ts";

Deno.test("parseAccessMark() reads token and session, fails closed on unknown values", () => {
  const h = (v?: string) =>
    new Headers(v === undefined ? {} : { [ACCESS_MARKER_HEADER]: v });
  assert.equal(parseAccessMark(h()), undefined);
  assert.equal(parseAccessMark(h("")), undefined);
  assert.equal(parseAccessMark(h("token")), "token");
  assert.equal(parseAccessMark(h(" Session ")), "session");
  assert.equal(parseAccessMark(h("file")), "file");
  assert.equal(parseAccessMark(h("paid")), "token");
});
