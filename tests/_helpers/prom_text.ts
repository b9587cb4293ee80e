/**
 * Reading what `/metrics` answers, for tests: a strict parser of the Prometheus text format
 * 0.0.4 (every line must be a comment, a blank or a well-formed sample) and `promtool check
 * metrics` when Prometheus's tool is installed.
 *
 * @module
 */

/** One sample line. */
export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A scrape, parsed. */
export interface PromScrape {
  readonly samples: readonly PromSample[];
  /** Family name → TYPE. */
  readonly types: ReadonlyMap<string, string>;
  /** Family name → HELP (unescaped). */
  readonly help: ReadonlyMap<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;

function parseValue(v: string): number {
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  if (v === "NaN") return NaN;
  const n = Number(v);
  if (v.trim() === "" || Number.isNaN(n)) {
    throw new Error(`Bad sample value: ${v}`);
  }
  return n;
}

/** Label pairs of `a="x",b="y"`, unescaping `\\`, `\"` and `\n`. */
function parseLabels(text: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0 || text[eq + 1] !== '"') throw new Error(`Bad labels: ${line}`);
    const name = text.slice(i, eq);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) {
      throw new Error(`Bad label name '${name}': ${line}`);
    }
    let j = eq + 2;
    let value = "";
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new Error(`Unterminated value: ${line}`);
      if (c === '"') break;
      if (c === "\\") {
        const n = text[j + 1];
        if (n === "\\") value += "\\";
        else if (n === '"') value += '"';
        else if (n === "n") value += "\n";
        else throw new Error(`Bad escape \\${n}: ${line}`);
        j += 2;
        continue;
      }
      if (c === "\n") throw new Error(`Raw line feed in a value: ${line}`);
      value += c;
      j++;
    }
    if (name in out) throw new Error(`Label '${name}' twice: ${line}`);
    out[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (i < text.length) throw new Error(`Bad labels: ${line}`);
  }
  return out;
}

/**
 * Parses a scrape; throws on any line that is not the format.
 *
 * @throws {Error} Naming the line.
 */
export function parsePromText(text: string): PromScrape {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ")) {
      const rest = line.slice(7);
      const sp = rest.indexOf(" ");
      help.set(
        rest.slice(0, sp),
        rest.slice(sp + 1).replace(/\\n/g, "\n").replace(/\\\\/g, "\\"),
      );
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const [name, type] = line.slice(7).split(" ");
      if (types.has(name!)) throw new Error(`TYPE twice: ${line}`);
      types.set(name!, type!);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`Not a sample line: ${line}`);
    samples.push({
      name: m[1]!,
      labels: m[3] ? parseLabels(m[3], line) : {},
      value: parseValue(m[4]!),
    });
  }
  return { samples, types, help };
}

/** The samples of `name` whose labels include `match`. */
export function samplesOf(
  scrape: PromScrape,
  name: string,
  match: Readonly<Record<string, string>> = {},
): PromSample[] {
  return scrape.samples.filter((s) =>
    s.name === name &&
    Object.entries(match).every(([k, v]) => s.labels[k] === v)
  );
}

/** The sum of the samples of `name` whose labels include `match` (0 when none). */
export function sumOf(
  scrape: PromScrape,
  name: string,
  match: Readonly<Record<string, string>> = {},
): number {
  return samplesOf(scrape, name, match).reduce((a, s) => a + s.value, 0);
}

/** True when Prometheus's `promtool` is on PATH. */
export async function hasPromtool(): Promise<boolean> {
  try {
    const out = await new Deno.Command("promtool", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * `promtool check metrics` on `text` (its lint: names, units, HELP, counters' `_total`).
 *
 * @returns What promtool printed when it found problems; "" when clean.
 */
export async function promtoolCheckMetrics(text: string): Promise<string> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    signal: AbortSignal.timeout(10_000),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  const said = (dec.decode(out.stdout) + dec.decode(out.stderr)).trim();
  return out.success ? "" : said || `promtool exited ${out.code}`;
}
