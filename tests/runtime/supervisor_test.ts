/**
 * The role supervisor with fake roles: a config change restarts exactly the roles whose inputs
 * changed, a role that cannot start with the new config puts every role back on the old one,
 * deferred roles restart after the call, and applies run one at a time.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../log/mod.ts";
import {
  RoleRestartError,
  RoleStartError,
  RoleSupervisor,
  type SupervisedRole,
} from "../../runtime/supervisor.ts";
import { waitFor } from "../_helpers/peers.ts";

type Config = Readonly<Record<string, number>>;

function fakeRoles(
  names: string[],
  failOn?: (name: string, v: number) => boolean,
) {
  const log: string[] = [];
  const running = new Map<string, number>();
  const roles: Record<string, SupervisedRole<Config>> = {};
  for (const name of names) {
    roles[name] = {
      inputs: (c) => c[name],
      start: (c) => {
        const v = c[name]!;
        if (failOn?.(name, v)) {
          log.push(`fail ${name}=${v}`);
          return Promise.reject(new Error(`${name} cannot run ${v}`));
        }
        log.push(`start ${name}=${v}`);
        running.set(name, v);
        return Promise.resolve({
          endpoints: { [`${name}.http`]: `http://h:${v}` },
          close: () => {
            log.push(`close ${name}=${v}`);
            running.delete(name);
            return Promise.resolve();
          },
        });
      },
    };
  }
  return { roles, log, running };
}

Deno.test("RoleSupervisor.apply() restarts only the roles whose inputs changed", async () => {
  const { roles, log } = fakeRoles(["a", "b", "c"]);
  const s = new RoleSupervisor(roles, ["a", "b", "c"], { a: 1, b: 1, c: 1 }, {
    log: silentLogger,
  });
  await s.start();
  let changes = 0;
  s.onChange(() => changes++);
  assert.deepEqual(s.plan({ a: 1, b: 2, c: 1 }), ["b"]);
  const out = await s.apply({ a: 1, b: 2, c: 3 });
  assert.deepEqual(out, { restarted: ["b", "c"], deferred: [] });
  assert.deepEqual(log, [
    "start a=1",
    "start b=1",
    "start c=1",
    "close b=1",
    "start b=2",
    "close c=1",
    "start c=3",
  ]);
  assert.deepEqual(s.config, { a: 1, b: 2, c: 3 });
  assert.equal(s.endpoints()["c.http"], "http://h:3");
  assert.equal(changes, 1);
  // Nothing changed: nothing restarts.
  assert.deepEqual((await s.apply({ a: 1, b: 2, c: 3 })).restarted, []);
  await s.close();
  assert.deepEqual(log.slice(-3), ["close c=3", "close b=2", "close a=1"]);
});

Deno.test("RoleSupervisor.apply(): a role that fails puts every restarted role back on the old config", async () => {
  const { roles, log, running } = fakeRoles(
    ["a", "b", "c"],
    (name, v) => name === "c" && v === 9,
  );
  const s = new RoleSupervisor(roles, ["a", "b", "c"], { a: 1, b: 1, c: 1 }, {
    log: silentLogger,
  });
  await s.start();
  log.length = 0;
  await assert.rejects(
    s.apply({ a: 2, b: 1, c: 9 }),
    (e: unknown) => e instanceof RoleRestartError && e.role === "c",
  );
  assert.deepEqual(log, [
    "close a=1",
    "start a=2",
    "close c=1",
    "fail c=9",
    "start c=1",
    "close a=2",
    "start a=1",
  ]);
  assert.deepEqual(s.config, { a: 1, b: 1, c: 1 });
  assert.deepEqual(Object.fromEntries(running), { a: 1, b: 1, c: 1 });
  await s.close();
});

Deno.test("RoleSupervisor.apply(): a deferred role restarts after the call returns; applies queue", async () => {
  const { roles, log, running } = fakeRoles(["a", "control"]);
  const s = new RoleSupervisor(roles, ["a", "control"], { a: 1, control: 1 }, {
    log: silentLogger,
  });
  await s.start();
  const first = s.apply({ a: 2, control: 2 }, ["control"]);
  const second = s.apply({ a: 3, control: 2 }, ["control"]);
  const out = await first;
  assert.deepEqual(out, { restarted: ["a"], deferred: ["control"] });
  assert.equal(running.get("control"), 1, "not yet: the caller answers first");
  assert.deepEqual((await second).restarted, ["a"]);
  await waitFor("control restarted", () => running.get("control") === 2, 2000);
  assert.ok(log.indexOf("start control=2") > log.indexOf("start a=2"));
  await s.close();
});

Deno.test("RoleSupervisor.start(): a role that fails closes the ones started before it", async () => {
  const { roles, running } = fakeRoles(["a", "b"], (n) => n === "b");
  const s = new RoleSupervisor(roles, ["a", "b"], { a: 1, b: 1 }, {
    log: silentLogger,
  });
  await assert.rejects(
    s.start(),
    (e: unknown) =>
      e instanceof RoleStartError && e.role === "b" &&
      e.closed.join() === "a" && /b cannot run/.test(String(e.cause)),
  );
  assert.equal(running.size, 0);
});
