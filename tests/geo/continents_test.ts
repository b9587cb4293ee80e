import assert from "node:assert/strict";
import { continentOf } from "../../geo/mod.ts";

Deno.test("continentOf() maps countries as GeoIP2 does", () => {
  assert.equal(continentOf("US"), "NA");
  assert.equal(continentOf("br"), "SA");
  assert.equal(continentOf("ZA"), "AF");
  assert.equal(continentOf("AU"), "OC");
  assert.equal(continentOf("RU"), "EU");
  assert.equal(continentOf("JP"), "AS");
  assert.equal(continentOf("ZZ"), undefined);
});
