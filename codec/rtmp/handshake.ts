/**
 * The RTMP handshake (§5.2), server and client side, I/O-free.
 *
 * Two flavours exist in the wild:
 *
 * - The **simple** handshake of the spec: S1 is random, S2 echoes C1.
 * - The **digest** ("complex", Flash Player 9) handshake, never published by Adobe but sent by
 *   Flash, FMLE and FFmpeg, and *verified* by FFmpeg when it plays: C1 carries an HMAC-SHA256
 *   digest keyed with the public part of the "Genuine Adobe Flash Player 001" key, at an offset
 *   derived from four bytes of C1 itself. The server must answer with a digest in S1 (keyed with
 *   the "Genuine Adobe Flash Media Server 001" key) and sign S2 with a key derived from the
 *   client's digest. Layout as implemented by FFmpeg (libavformat/rtmpproto.c) and
 *   crtmpserver; see also the rtmpdump write-up.
 *
 * C1/S1 layout (1536 bytes): time (4) | version (4) | 1528 bytes in which, for the digest
 * handshake, a 32-byte digest sits at:
 * - schema 0: `(c1[8] + c1[9] + c1[10] + c1[11]) % 728 + 12`
 * - schema 1: `(c1[772] + c1[773] + c1[774] + c1[775]) % 728 + 776`
 *
 * We use node:crypto's synchronous HMAC: it is a pure function of its inputs, and Web Crypto's
 * async API would force the whole session state machine to be async.
 *
 * @module
 */

import { createHmac } from "node:crypto";
import { RTMP_HANDSHAKE_SIZE, RTMP_VERSION } from "./constants.ts";
import { RtmpErrorCode, RtmpProtocolError } from "./errors.ts";

/** Length of the HMAC-SHA256 digests the digest handshake embeds. */
export const HANDSHAKE_DIGEST_BYTES = 32;

/** Bytes of C1/S1 over which a digest's offset can range (1536 − 8 header − 764 other half − 32 − 4). */
const DIGEST_OFFSET_RANGE = 728;

/** Where each schema's 4 offset bytes start. */
const DIGEST_BASE = { 0: 8, 1: 772 } as const;

/** Which half of C1 carries the digest: 0 = digest block first, 1 = key block first. */
export type HandshakeSchema = 0 | 1;

/** The random constant shared by both Genuine keys. */
const GENUINE_KEY_TAIL = [
  0xf0,
  0xee,
  0xc2,
  0x4a,
  0x80,
  0x68,
  0xbe,
  0xe8,
  0x2e,
  0x00,
  0xd0,
  0xd1,
  0x02,
  0x9e,
  0x7e,
  0x57,
  0x6e,
  0xec,
  0x5d,
  0x2d,
  0x29,
  0x80,
  0x6f,
  0xab,
  0x93,
  0xb8,
  0xe6,
  0x36,
  0xcf,
  0xeb,
  0x31,
  0xae,
];

function genuineKey(text: string): Uint8Array {
  return new Uint8Array([
    ...new TextEncoder().encode(text),
    ...GENUINE_KEY_TAIL,
  ]);
}

/** 62-byte Flash Player key; its first 30 bytes sign C1. */
export const GENUINE_FP_KEY: Uint8Array = genuineKey(
  "Genuine Adobe Flash Player 001",
);
/** 68-byte Flash Media Server key; its first 36 bytes sign S1. */
export const GENUINE_FMS_KEY: Uint8Array = genuineKey(
  "Genuine Adobe Flash Media Server 001",
);
const FP_KEY_PUBLIC_BYTES = 30;
const FMS_KEY_PUBLIC_BYTES = 36;

/**
 * The version we claim in S1 for the digest handshake. FFmpeg verifies S1's digest only when
 * byte 4 of S1 is ≥ 3 (an FMS 3+ server), so claiming FMS 5 gets our digests checked by every
 * FFmpeg player, which is what we want.
 */
const SERVER_VERSION = [5, 0, 3, 1];
/** What FFmpeg sends in C1 (Flash Player 9.0.124.2); used by our client helper. */
const CLIENT_VERSION = [9, 0, 124, 2];

function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/**
 * Where the digest of `packet` (a C1 or S1) sits for `schema`.
 *
 * @param packet 1536 bytes.
 * @param schema 0 or 1.
 * @returns The byte offset of the 32-byte digest.
 *
 * @example
 * ```ts
 * import { digestOffset } from "./handshake.ts";
 * import assert from "node:assert/strict";
 * const p = new Uint8Array(1536);
 * p.set([1, 2, 3, 4], 8);
 * assert.equal(digestOffset(p, 0), 10 + 12);
 * ```
 */
export function digestOffset(
  packet: Uint8Array,
  schema: HandshakeSchema,
): number {
  const base = DIGEST_BASE[schema];
  const sum = packet[base]! + packet[base + 1]! + packet[base + 2]! +
    packet[base + 3]!;
  return (sum % DIGEST_OFFSET_RANGE) + base + 4;
}

/**
 * HMAC-SHA256 of `packet` without the 32 bytes at `offset` (where the digest goes).
 *
 * @param packet 1536 bytes.
 * @param offset From {@link digestOffset}.
 * @param key Key bytes (the public part of a Genuine key).
 * @returns 32 bytes.
 */
export function computeHandshakeDigest(
  packet: Uint8Array,
  offset: number,
  key: Uint8Array,
): Uint8Array {
  return hmacSha256(
    key,
    packet.subarray(0, offset),
    packet.subarray(offset + HANDSHAKE_DIGEST_BYTES),
  );
}

/** A digest found in a C1 or S1. */
export interface FoundDigest {
  readonly schema: HandshakeSchema;
  readonly offset: number;
  readonly digest: Uint8Array;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Looks for a valid digest in `packet`, trying schema 0 then schema 1 (FFmpeg uses 0, Flash
 * Player 10+ uses 1).
 *
 * @param packet A C1 (with the Flash Player key) or an S1 (with the FMS key).
 * @param key The public key bytes to check with.
 * @returns The digest, or `undefined` when neither schema validates (a simple handshake).
 */
export function findHandshakeDigest(
  packet: Uint8Array,
  key: Uint8Array,
): FoundDigest | undefined {
  for (const schema of [0, 1] as const) {
    const offset = digestOffset(packet, schema);
    const digest = packet.subarray(offset, offset + HANDSHAKE_DIGEST_BYTES);
    if (equalBytes(computeHandshakeDigest(packet, offset, key), digest)) {
      return { schema, offset, digest: digest.slice() };
    }
  }
  return undefined;
}

/** Writes a digest into `packet` at the `schema` offset and returns that digest. */
function imprintDigest(
  packet: Uint8Array,
  schema: HandshakeSchema,
  key: Uint8Array,
): Uint8Array {
  const offset = digestOffset(packet, schema);
  const digest = computeHandshakeDigest(packet, offset, key);
  packet.set(digest, offset);
  return digest;
}

/** Builds the signed 1536-byte C2/S2 of the digest handshake: random 1504 + HMAC of them. */
function signedEcho(
  random: Uint8Array,
  fullKey: Uint8Array,
  peerDigest: Uint8Array,
): Uint8Array {
  const packet = random.slice(0, RTMP_HANDSHAKE_SIZE);
  const body = RTMP_HANDSHAKE_SIZE - HANDSHAKE_DIGEST_BYTES;
  const tempKey = hmacSha256(fullKey, peerDigest);
  packet.set(hmacSha256(tempKey, packet.subarray(0, body)), body);
  return packet;
}

/** Options of the handshake state machines. */
export interface HandshakeOptions {
  /** Fills a buffer with random bytes. @default crypto.getRandomValues */
  readonly randomBytes?: (length: number) => Uint8Array;
  /** The 4-byte time field of C1/S1, in milliseconds. @default 0 */
  readonly epochMs?: number;
}

function defaultRandom(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

function writeTime(packet: Uint8Array, epochMs: number): void {
  new DataView(packet.buffer, packet.byteOffset, 4).setUint32(0, epochMs >>> 0);
}

/** What one `push` into a handshake produced. */
export interface HandshakeStep {
  /** Bytes to send to the peer now, if any. */
  readonly output: Uint8Array | undefined;
  /** True once the handshake is complete. */
  readonly done: boolean;
  /** Bytes after the handshake (the first chunks), once done; a copy. */
  readonly rest: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** Appends `bytes` to a copy of `held`; keeps no reference to the caller's buffer. */
function append(held: Uint8Array, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(held.byteLength + bytes.byteLength);
  out.set(held);
  out.set(bytes, held.byteLength);
  return out;
}

/**
 * Server side of the handshake: wait for C0+C1, answer S0+S1+S2 in one write, wait for C2.
 *
 * @example
 * ```ts
 * import { RtmpClientHandshake, RtmpServerHandshake } from "./handshake.ts";
 * import assert from "node:assert/strict";
 * const client = new RtmpClientHandshake({ digest: true });
 * const server = new RtmpServerHandshake();
 * const s = server.push(client.start());
 * const c = client.push(s.output!);
 * assert.equal(c.done, true);
 * assert.equal(client.serverDigestValid, true);
 * assert.equal(server.push(c.output!).done, true);
 * assert.equal(server.usedDigest, true);
 * ```
 */
export class RtmpServerHandshake {
  #held: Uint8Array = EMPTY;
  #state: "c0c1" | "c2" | "done" = "c0c1";
  #random: (length: number) => Uint8Array;
  #epochMs: number;
  #usedDigest = false;

  constructor(options: HandshakeOptions = {}) {
    this.#random = options.randomBytes ?? defaultRandom;
    this.#epochMs = options.epochMs ?? 0;
  }

  /** True once C2 has arrived. */
  get done(): boolean {
    return this.#state === "done";
  }

  /** True when the client sent a digest C1 and we answered with the digest handshake. */
  get usedDigest(): boolean {
    return this.#usedDigest;
  }

  /**
   * Feeds bytes from the client.
   *
   * @param bytes Any slice of the stream; the handshake keeps its own copy of what it needs.
   * @returns Output to send, whether the handshake is done, and any bytes past C2.
   * @throws {RtmpProtocolError} `RTMP_BAD_VERSION` when C0 is not 3, `RTMP_BAD_HANDSHAKE` when
   *   fed after completion.
   */
  push(bytes: Uint8Array): HandshakeStep {
    if (this.#state === "done") {
      throw new RtmpProtocolError(
        RtmpErrorCode.BadHandshake,
        "Cannot continue handshake: it is already complete",
      );
    }
    this.#held = append(this.#held, bytes);
    let output: Uint8Array | undefined;
    if (this.#state === "c0c1") {
      if (this.#held.byteLength < 1) {
        return { output, done: false, rest: EMPTY };
      }
      const version = this.#held[0]!;
      if (version !== RTMP_VERSION) {
        throw new RtmpProtocolError(
          RtmpErrorCode.BadVersion,
          `Cannot start handshake: C0 version ${version}, expected ${RTMP_VERSION}`,
        );
      }
      if (this.#held.byteLength < 1 + RTMP_HANDSHAKE_SIZE) {
        return { output, done: false, rest: EMPTY };
      }
      const c1 = this.#held.subarray(1, 1 + RTMP_HANDSHAKE_SIZE);
      output = this.#answer(c1);
      this.#held = this.#held.slice(1 + RTMP_HANDSHAKE_SIZE);
      this.#state = "c2";
    }
    if (this.#held.byteLength < RTMP_HANDSHAKE_SIZE) {
      return { output, done: false, rest: EMPTY };
    }
    // C2 is not verified: FMS does not either, and some encoders send zeros.
    const rest = this.#held.slice(RTMP_HANDSHAKE_SIZE);
    this.#held = EMPTY;
    this.#state = "done";
    return { output, done: true, rest };
  }

  #answer(c1: Uint8Array): Uint8Array {
    const out = new Uint8Array(1 + 2 * RTMP_HANDSHAKE_SIZE);
    out[0] = RTMP_VERSION;
    const s1 = out.subarray(1, 1 + RTMP_HANDSHAKE_SIZE);
    const s2 = out.subarray(1 + RTMP_HANDSHAKE_SIZE);
    s1.set(this.#random(RTMP_HANDSHAKE_SIZE));
    writeTime(s1, this.#epochMs);
    // A client with version 0 in C1 asks for the simple handshake (the FP9 scheme sets it).
    const clientVersioned = c1[4]! | c1[5]! | c1[6]! | c1[7]!;
    const found = clientVersioned
      ? findHandshakeDigest(c1, GENUINE_FP_KEY.subarray(0, FP_KEY_PUBLIC_BYTES))
      : undefined;
    if (found === undefined) {
      s1.set([0, 0, 0, 0], 4);
      s2.set(c1);
      return out;
    }
    this.#usedDigest = true;
    s1.set(SERVER_VERSION, 4);
    imprintDigest(
      s1,
      found.schema,
      GENUINE_FMS_KEY.subarray(0, FMS_KEY_PUBLIC_BYTES),
    );
    s2.set(
      signedEcho(
        this.#random(RTMP_HANDSHAKE_SIZE),
        GENUINE_FMS_KEY,
        found.digest,
      ),
    );
    return out;
  }
}

/** Options of {@link RtmpClientHandshake}. */
export interface ClientHandshakeOptions extends HandshakeOptions {
  /** Send a digest C1 (schema 0, as FFmpeg does) instead of a simple one. @default false */
  readonly digest?: boolean;
}

/**
 * Client side of the handshake, for tests and relays: `start()` gives C0+C1, then feed S0+S1+S2
 * to get C2.
 */
export class RtmpClientHandshake {
  #held: Uint8Array = EMPTY;
  #random: (length: number) => Uint8Array;
  #epochMs: number;
  #digest: boolean;
  #c1: Uint8Array | undefined;
  #c1Digest: Uint8Array | undefined;
  #done = false;
  #serverDigestValid: boolean | undefined;

  constructor(options: ClientHandshakeOptions = {}) {
    this.#random = options.randomBytes ?? defaultRandom;
    this.#epochMs = options.epochMs ?? 0;
    this.#digest = options.digest ?? false;
  }

  /** For a digest handshake: whether S1's and S2's digests verified; else `undefined`. */
  get serverDigestValid(): boolean | undefined {
    return this.#serverDigestValid;
  }

  /** The C1 sent, for tests. */
  get c1(): Uint8Array | undefined {
    return this.#c1;
  }

  /**
   * Builds C0+C1.
   *
   * @returns 1537 bytes to send first.
   */
  start(): Uint8Array {
    const out = new Uint8Array(1 + RTMP_HANDSHAKE_SIZE);
    out[0] = RTMP_VERSION;
    const c1 = out.subarray(1);
    c1.set(this.#random(RTMP_HANDSHAKE_SIZE));
    writeTime(c1, this.#epochMs);
    if (this.#digest) {
      c1.set(CLIENT_VERSION, 4);
      this.#c1Digest = imprintDigest(
        c1,
        0,
        GENUINE_FP_KEY.subarray(0, FP_KEY_PUBLIC_BYTES),
      );
    } else {
      c1.set([0, 0, 0, 0], 4);
    }
    this.#c1 = c1.slice();
    return out;
  }

  /**
   * Feeds bytes from the server.
   *
   * @param bytes Any slice of the stream.
   * @returns C2 once S0+S1+S2 are in, and the bytes after them.
   * @throws {RtmpProtocolError} `RTMP_BAD_VERSION` when S0 is not 3, `RTMP_BAD_HANDSHAKE` when
   *   called before `start()` or after completion.
   */
  push(bytes: Uint8Array): HandshakeStep {
    if (this.#c1 === undefined || this.#done) {
      throw new RtmpProtocolError(
        RtmpErrorCode.BadHandshake,
        "Cannot continue client handshake: call start() once before push()",
      );
    }
    this.#held = append(this.#held, bytes);
    if (this.#held.byteLength >= 1 && this.#held[0] !== RTMP_VERSION) {
      throw new RtmpProtocolError(
        RtmpErrorCode.BadVersion,
        `Cannot continue client handshake: S0 version ${
          this.#held[0]
        }, expected ${RTMP_VERSION}`,
      );
    }
    const total = 1 + 2 * RTMP_HANDSHAKE_SIZE;
    if (this.#held.byteLength < total) {
      return { output: undefined, done: false, rest: EMPTY };
    }
    const s1 = this.#held.subarray(1, 1 + RTMP_HANDSHAKE_SIZE);
    const s2 = this.#held.subarray(1 + RTMP_HANDSHAKE_SIZE, total);
    let c2: Uint8Array;
    const found = this.#c1Digest
      ? findHandshakeDigest(
        s1,
        GENUINE_FMS_KEY.subarray(0, FMS_KEY_PUBLIC_BYTES),
      )
      : undefined;
    if (this.#c1Digest && found) {
      const body = RTMP_HANDSHAKE_SIZE - HANDSHAKE_DIGEST_BYTES;
      const expected = signedEcho(s2, GENUINE_FMS_KEY, this.#c1Digest);
      this.#serverDigestValid = equalBytes(
        expected.subarray(body),
        s2.subarray(body),
      );
      c2 = signedEcho(
        this.#random(RTMP_HANDSHAKE_SIZE),
        GENUINE_FP_KEY,
        found.digest,
      );
    } else {
      if (this.#c1Digest) this.#serverDigestValid = false;
      c2 = s1.slice();
    }
    const rest = this.#held.slice(total);
    this.#held = EMPTY;
    this.#done = true;
    return { output: c2, done: true, rest };
  }
}
