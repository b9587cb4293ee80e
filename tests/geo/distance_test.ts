import assert from "node:assert/strict";
import { haversineKm } from "../../geo/mod.ts";

Deno.test("haversineKm() matches known great-circle distances", () => {
  const fra = { latitude: 50.11, longitude: 8.68 };
  const iad = { latitude: 38.95, longitude: -77.45 };
  assert.equal(haversineKm(fra, fra), 0);
  assert.ok(
    Math.abs(haversineKm(fra, iad) - 6530) < 60,
    String(haversineKm(fra, iad)),
  );
  assert.ok(
    Math.abs(
      haversineKm({ latitude: 0, longitude: 0 }, {
        latitude: 0,
        longitude: 180,
      }) - 20015,
    ) < 5,
  );
  assert.equal(haversineKm(fra, iad), haversineKm(iad, fra));
});
