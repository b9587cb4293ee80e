import assert from "node:assert/strict";
import { createHealthWeightedRr } from "../../../edge/upstream/health_weighted_rr.ts";
import {
  FakeHealth,
  ORIGINS,
  runSelectorContract,
} from "./selector_contract.ts";

runSelectorContract("health_weighted_rr", createHealthWeightedRr);

Deno.test("health_weighted_rr is smooth: weights 3,1,1 interleave instead of bursting", () => {
  const s = createHealthWeightedRr(ORIGINS, new FakeHealth());
  const seq = Array.from({ length: 5 }, () => s.select()!.id.slice(-1)).join(
    "",
  );
  assert.equal(seq, "abaca");
});

Deno.test("health_weighted_rr scales a recovering origin's share by its slow-start factor", () => {
  const h = new FakeHealth();
  h.factors.set("http://a", 0.1); // a: 3 × 0.1 = 0.3 against b and c at 1 each
  const s = createHealthWeightedRr(ORIGINS, h);
  let a = 0;
  for (let i = 0; i < 230; i++) if (s.select()!.id === "http://a") a++;
  assert.equal(a, 30);
});
