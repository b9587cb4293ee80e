/**
 * Reading access log lines back, for tests: JSON lines as objects, and the `combined` text
 * form split into its fields (the shape `log/access/format.ts` writes).
 *
 * @module
 */

/** The fields of one `combined` line. */
export interface CombinedLine {
  readonly client: string;
  readonly time: string;
  /** The quoted request: `GET /path HTTP/1.1`, `PUBLISH /app/stream RTMP`, `QUERY name A UDP`. */
  readonly request: string;
  readonly status: string;
  readonly bytes: string;
  readonly referer: string;
  readonly userAgent: string;
  /** `key=value` pairs after the standard fields (`rt`, `ttfb`, `cache`, `in`, `reason`…). */
  readonly extra: Readonly<Record<string, string>>;
}

const COMBINED =
  /^(\S+) - - \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\S+) (\S+) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"(.*)$/;

function unquote(s: string): string {
  return s.replace(
    /\\x([0-9a-f]{2})/g,
    (_, h) => String.fromCharCode(parseInt(h, 16)),
  )
    .replace(/\\(.)/g, "$1");
}

/**
 * Parses one `combined` line.
 *
 * @throws {Error} When the line is not in that form.
 */
export function parseCombinedLine(line: string): CombinedLine {
  const m = COMBINED.exec(line);
  if (!m) throw new Error(`Not a combined line: ${line}`);
  const extra: Record<string, string> = {};
  for (const kv of m[8]!.matchAll(/ ([a-z]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    const v = kv[2]!;
    extra[kv[1]!] = v.startsWith('"') ? unquote(v.slice(1, -1)) : v;
  }
  return {
    client: m[1]!,
    time: m[2]!,
    request: unquote(m[3]!),
    status: m[4]!,
    bytes: m[5]!,
    referer: unquote(m[6]!),
    userAgent: unquote(m[7]!),
    extra,
  };
}

/** The JSON lines of a file or a stream's text (blank lines skipped). */
export function parseJsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) =>
    JSON.parse(l)
  );
}
