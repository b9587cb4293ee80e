/**
 * Raw DNS over loopback for tests: hand-built query bytes sent over UDP (`Deno.listenDatagram`)
 * and TCP (`Deno.connect`), every wait bounded, and dig/kdig found on PATH.
 *
 * @module
 */

import { runPeer } from "./peers.ts";

const ENC = new TextEncoder();

/** Wire-form name from labels given as text or raw bytes, root label appended. */
export function wireName(
  labels: readonly (string | readonly number[])[],
): number[] {
  const out: number[] = [];
  for (const l of labels) {
    const bytes = typeof l === "string" ? [...ENC.encode(l)] : [...l];
    out.push(bytes.length, ...bytes);
  }
  return [...out, 0];
}

/** A query with one question (RD set), optionally with an OPT record (payload 1232, no options). */
export function rawQuery(
  name: readonly number[],
  qtype: number,
  opts: { id?: number; edns?: boolean; qclass?: number } = {},
): Uint8Array {
  const id = opts.id ?? 0x2b2b;
  const edns = opts.edns ?? false;
  const qclass = opts.qclass ?? 1;
  return new Uint8Array([
    id >> 8,
    id & 0xff,
    0x01,
    0x00,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    edns ? 1 : 0,
    ...name,
    qtype >> 8,
    qtype & 0xff,
    qclass >> 8,
    qclass & 0xff,
    ...(edns ? [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0] : []),
  ]);
}

async function within<T>(
  what: string,
  p: Promise<T>,
  timeoutMs: number,
  onTimeout: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`No ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends one datagram to 127.0.0.1:`port` and returns the reply (throws after `timeoutMs`). */
export async function udpAsk(
  port: number,
  query: Uint8Array,
  timeoutMs = 3000,
): Promise<Uint8Array> {
  const sock = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  try {
    await sock.send(query, { transport: "udp", hostname: "127.0.0.1", port });
    const [reply] = await within(
      "UDP reply",
      sock.receive(),
      timeoutMs,
      () => sock.close(),
    );
    return reply;
  } finally {
    try {
      sock.close();
    } catch {
      // closed by the timeout
    }
  }
}

/** Reads exactly `n` bytes, or returns what came before the peer closed. */
export async function readExactly(
  conn: Deno.Conn,
  n: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let have = 0;
  while (have < n) {
    const got = await conn.read(out.subarray(have));
    if (got === null) return out.subarray(0, have);
    have += got;
  }
  return out;
}

/** Reads one length-prefixed DNS message from a TCP connection (`undefined` if it closes first). */
export async function readTcpMessage(
  conn: Deno.Conn,
): Promise<Uint8Array | undefined> {
  const len = await readExactly(conn, 2);
  if (len.length < 2) return undefined;
  const msg = await readExactly(conn, (len[0]! << 8) | len[1]!);
  return msg.length === ((len[0]! << 8) | len[1]!) ? msg : undefined;
}

/** Sends one framed query over a new TCP connection and returns the reply. */
export async function tcpAsk(
  port: number,
  query: Uint8Array,
  timeoutMs = 3000,
): Promise<Uint8Array | undefined> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const framed = new Uint8Array(query.length + 2);
    framed[0] = query.length >> 8;
    framed[1] = query.length & 0xff;
    framed.set(query, 2);
    await conn.write(framed);
    return await within(
      "TCP reply",
      readTcpMessage(conn),
      timeoutMs,
      () => conn.close(),
    );
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the timeout
    }
  }
}

/** True when `cmd` runs (`dig -v`, `kdig -V`). */
export async function hasDnsPeer(cmd: "dig" | "kdig"): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, {
      args: [cmd === "kdig" ? "-V" : "-v"],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
}

/** Runs `dig @127.0.0.1 -p port +time=2 +tries=1 ...args`; returns stdout (asserting exit 0). */
export async function dig(port: number, ...args: string[]): Promise<string> {
  const out = await runPeer("dig", [
    "@127.0.0.1",
    "-p",
    String(port),
    "+time=2",
    "+tries=1",
    ...args,
  ], 15_000);
  if (out.code !== 0) {
    throw new Error(`dig ${args.join(" ")} exited ${out.code}: ${out.stderr}`);
  }
  return out.stdout;
}
