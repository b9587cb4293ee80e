/**
 * Small FLV clips for the virtual-live tests, written by code: frames 40 ms apart whose
 * payloads name their clip and frame number, so a test can tell which bytes were read.
 */
import { encodeFlvHeader } from "../../../codec/flv/header.ts";
import { encodeFlvTag } from "../../../codec/flv/tag.ts";
import { FlvTagType } from "../../../codec/flv/types.ts";
import type { Logger } from "../../../log/mod.ts";

export const FRAME_MS = 40;
export const AAC_44K = [0x12, 0x10];
export const AAC_48K = [0x11, 0x90];

/** An FLV file: `frames` video frames (a keyframe every `gop`) and audio beside them. */
export async function writeClip(
  path: string,
  opts: { id: number; frames: number; gop: number; avc: number; asc: number[] },
): Promise<void> {
  const tags: Uint8Array[] = [
    encodeFlvHeader({ hasAudio: true, hasVideo: true }),
  ];
  // A fake AVCDecoderConfigurationRecord: its bytes are what the channel compares.
  tags.push(encodeFlvTag({
    type: FlvTagType.Video,
    timestampMs: 0,
    data: new Uint8Array([0x17, 0, 0, 0, 0, 1, 0x42, 0, opts.avc]),
  }));
  tags.push(encodeFlvTag({
    type: FlvTagType.Audio,
    timestampMs: 0,
    data: new Uint8Array([0xaf, 0, ...opts.asc]),
  }));
  for (let i = 0; i < opts.frames; i++) {
    const key = i % opts.gop === 0;
    tags.push(encodeFlvTag({
      type: FlvTagType.Video,
      timestampMs: i * FRAME_MS,
      data: new Uint8Array([key ? 0x17 : 0x27, 1, 0, 0, 0, opts.id, i, 0xee]),
    }));
    tags.push(encodeFlvTag({
      type: FlvTagType.Audio,
      timestampMs: i * FRAME_MS + 10,
      data: new Uint8Array([0xaf, 1, opts.id, i]),
    }));
  }
  const total = tags.reduce((n, t) => n + t.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const t of tags) {
    out.set(t, o);
    o += t.byteLength;
  }
  await Deno.writeFile(path, out);
}

export interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown> | undefined;
}

export function captureLogger(lines: LogLine[]): Logger {
  const log: Logger = {
    debug: (msg, fields) => lines.push({ level: "debug", msg, fields }),
    info: (msg, fields) => lines.push({ level: "info", msg, fields }),
    warn: (msg, fields) => lines.push({ level: "warn", msg, fields }),
    error: (msg, fields) => lines.push({ level: "error", msg, fields }),
    child: () => log,
  };
  return log;
}

/** A clip's shape. */
export interface ClipSpec {
  readonly id: number;
  readonly frames: number;
  readonly gop: number;
  /** A byte of the (fake) AVC configuration record: clips differ in video config by it. */
  readonly avc: number;
  /** AudioSpecificConfig bytes. */
  readonly asc: number[];
}

/** Writes the clips into a temporary folder, runs `fn`, removes the folder. */
export async function withClips<T>(
  specs: {
    id: number;
    frames: number;
    gop: number;
    avc: number;
    asc: number[];
  }[],
  fn: (paths: string[], dir: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "vlive_" });
  try {
    const paths: string[] = [];
    for (const s of specs) {
      const p = `${dir}/clip${s.id}.flv`;
      await writeClip(p, s);
      paths.push(p);
    }
    return await fn(paths, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
