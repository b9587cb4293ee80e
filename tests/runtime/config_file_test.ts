/**
 * Config edits written back into the YAML file: only changed keys, comments and untouched keys
 * kept, lists replaced whole, a missing file made, invalid YAML left alone; the file then loads
 * as the edited config.
 */
import assert from "node:assert/strict";
import { loadConfig, parseConfig } from "../../config/mod.ts";
import { writeConfigChanges } from "../../runtime/config_file.ts";

const FILE = `# Meridian, our site
origin:
  # the HTTP port viewers reach
  httpPort: 18090
  hls:
    windowSegments: 6 # six segments
  apps:
    - name: live
      access: token
control:
  port: 18088
`;

Deno.test("writeConfigChanges() sets only what changed and keeps every comment", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian_cfgfile_" });
  try {
    const path = `${dir}/m.yaml`;
    await Deno.writeTextFile(path, FILE);
    const before = (await loadConfig(path, {})).config;
    const after = parseConfig({
      ...structuredClone(before),
      origin: {
        ...structuredClone(before.origin),
        hls: { ...before.origin.hls, windowSegments: 9 },
        apps: [{
          name: "live",
          access: "open",
          publishKeys: ["k-1"],
          streams: [],
        }],
        maxStreams: 12,
      },
    });
    const keys = await writeConfigChanges(path, before, after);
    assert.deepEqual(keys.sort(), [
      "origin.apps",
      "origin.hls.windowSegments",
      "origin.maxStreams",
    ]);
    const text = await Deno.readTextFile(path);
    for (
      const kept of [
        "# Meridian, our site",
        "# the HTTP port viewers reach",
        "httpPort: 18090",
        "windowSegments: 9 # six segments",
        "port: 18088",
      ]
    ) assert.ok(text.includes(kept), `${kept}\n${text}`);
    const reloaded = (await loadConfig(path, {})).config;
    assert.deepEqual(reloaded, after);
    // Nothing changed: the file is not touched.
    const stat = await Deno.stat(path);
    assert.deepEqual(await writeConfigChanges(path, after, after), []);
    assert.equal(
      (await Deno.stat(path)).mtime?.getTime(),
      stat.mtime?.getTime(),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeConfigChanges() makes a missing file and leaves invalid YAML alone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian_cfgfile_" });
  try {
    const before = parseConfig({});
    const after = parseConfig({ log: { level: "debug" } });
    await writeConfigChanges(`${dir}/new.yaml`, before, after);
    assert.equal(
      (await loadConfig(`${dir}/new.yaml`, {})).config.log.level,
      "debug",
    );
    await Deno.writeTextFile(`${dir}/bad.yaml`, "origin: [unclosed\n");
    await assert.rejects(
      writeConfigChanges(`${dir}/bad.yaml`, before, after),
      /not valid YAML/,
    );
    assert.equal(
      await Deno.readTextFile(`${dir}/bad.yaml`),
      "origin: [unclosed\n",
    );
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assert.deepEqual(left.sort(), ["bad.yaml", "new.yaml"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
