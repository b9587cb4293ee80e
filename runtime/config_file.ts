/**
 * Writes a config change made in the console back into the YAML file the process was started
 * with, so it survives a restart: only the keys that changed are set (a list as a whole),
 * every comment and every untouched key is kept (the `yaml` library's document model), and
 * the file is replaced atomically (a temporary file renamed over it).
 *
 * A key that a `MERIDIAN_*` environment variable sets still takes the variable's value at the
 * next start: the file cannot override the environment.
 *
 * @module
 */

import { parseDocument } from "yaml";

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The paths (lists as wholes) where `a` and `b` differ. */
export function changedKeyPaths(
  a: unknown,
  b: unknown,
  path: string[] = [],
): string[][] {
  if (isPlain(a) && isPlain(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => changedKeyPaths(a[k], b[k], [...path, k]));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}

function getIn(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const seg of path) node = isPlain(node) ? node[seg] : undefined;
  return node;
}

/**
 * Sets in the YAML file at `path` every key where `after` differs from `before`.
 *
 * @returns The dotted keys written.
 * @throws {Error} When the file cannot be read, parsed or written (nothing is written then).
 * @example
 * ```ts
 * import { writeConfigChanges } from "./config_file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/m.yaml`, "# ports\norigin:\n  httpPort: 8090 # the HTTP port\n");
 * await writeConfigChanges(`${dir}/m.yaml`, { origin: { httpPort: 8090 } }, { origin: { httpPort: 9000 } });
 * const text = await Deno.readTextFile(`${dir}/m.yaml`);
 * await Deno.remove(dir, { recursive: true });
 * if (!text.includes("httpPort: 9000 # the HTTP port") || !text.startsWith("# ports")) throw new Error(text);
 * ```
 */
export async function writeConfigChanges(
  path: string,
  before: unknown,
  after: unknown,
): Promise<string[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const doc = parseDocument(text);
  if (doc.errors.length) {
    throw new Error(`Cannot update ${path}: it is not valid YAML`, {
      cause: doc.errors[0],
    });
  }
  const changed = changedKeyPaths(before, after);
  for (const p of changed) {
    const v = getIn(after, p);
    if (v === undefined) doc.deleteIn(p);
    else doc.setIn(p, structuredClone(v));
  }
  if (changed.length === 0) return [];
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(tmp, doc.toString());
  try {
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  return changed.map((p) => p.join("."));
}
