/**
 * Live snapshots: `/{app}/{stream}.jpg`, a JPEG of the stream's latest keyframe, at most
 * `snapshotSeconds` old. No decoder runs alongside the stream: each stream keeps its latest
 * H.264 sequence header and keyframe (a listener on its hub, two references per keyframe), and
 * a snapshot asked for when the last is older than the period decodes that one keyframe: the
 * sequence header and the frame as a tiny FLV on ffmpeg's stdin, one JPEG on its stdout
 * (the VOD thumbnailer's runner). Concurrent requests share one decode; a stream nobody asks
 * about costs nothing.
 *
 * @module
 */

import { Hono } from "hono";
import {
  encodeFlvHeader,
  encodeFlvTag,
  type FlvTag,
  FlvTagType,
  VideoCodec,
  VideoFrameType,
} from "../../codec/flv/mod.ts";
import { concatBytes } from "../../codec/bytes/concat.ts";
import type { MetricsRegistry } from "../../metrics/mod.ts";
import type { Logger } from "../log.ts";
import type { Hub } from "../stream/hub.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import type { Thumbnailer } from "../vod/mod.ts";

/** Options of {@link LiveSnapshots} (from `origin.transcode`). */
export interface LiveSnapshotsOptions {
  /** A snapshot is remade when older than this (s); also its `max-age`. */
  readonly intervalSeconds: number;
  /** JPEG width, pixels. */
  readonly width: number;
}

/** What {@link LiveSnapshots} needs. */
export interface LiveSnapshotsDeps {
  readonly registry: StreamRegistry;
  readonly thumbnailer: Thumbnailer;
  readonly metrics: MetricsRegistry;
  readonly log: Logger;
  /** True for apps whose media needs a token: their snapshots are not served. */
  readonly protectedApp: (app: string) => boolean;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
}

interface Keyframes {
  config: FlvTag | undefined;
  keyframe: FlvTag | undefined;
  /** The last snapshot, the keyframe it was made of, and when. */
  jpeg: Uint8Array | undefined;
  madeOf: FlvTag | undefined;
  madeAtMs: number;
  making: Promise<Uint8Array> | undefined;
}

/** A snapshot request that cannot be answered with a JPEG. */
export type SnapshotRefusal = {
  readonly status: 403 | 404 | 415 | 502;
  readonly message: string;
};

/** The latest JPEG of every live H.264 stream, made when asked. */
export class LiveSnapshots {
  readonly #o: LiveSnapshotsOptions;
  readonly #deps: LiveSnapshotsDeps;
  readonly #now: () => number;
  readonly #streams = new Map<string, Keyframes>();
  readonly #unsubscribe: () => void;
  readonly #made;

  constructor(options: LiveSnapshotsOptions, deps: LiveSnapshotsDeps) {
    this.#o = options;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#made = deps.metrics.counter(
      "meridian_origin_snapshots_total",
      "Live snapshot requests by outcome (made: a keyframe decoded, cached, failed)",
    );
    this.#unsubscribe = deps.registry.onPublish((hub) => this.#watch(hub));
  }

  #watch(hub: Hub): void {
    const key = `${hub.app}/${hub.name}`;
    const k: Keyframes = {
      config: undefined,
      keyframe: undefined,
      jpeg: undefined,
      madeOf: undefined,
      madeAtMs: 0,
      making: undefined,
    };
    this.#streams.set(key, k);
    hub.addListener({
      onTag(tag) {
        if (tag.type !== FlvTagType.Video || tag.data.byteLength < 5) return;
        // Only the first byte and the packet type: no parse on the hot path beyond these.
        const b0 = tag.data[0]!;
        if ((b0 & 0x0f) !== 7 || (b0 >> 4) !== VideoFrameType.Key) return; // legacy AVC keyframes
        if (tag.data[1] === 0) k.config = tag;
        else if (tag.data[1] === 1) k.keyframe = tag;
      },
      onEnd: () => {
        if (this.#streams.get(key) === k) this.#streams.delete(key);
      },
    });
  }

  /**
   * The snapshot of `app/stream`: the cached one while younger than the period, else a
   * decode of the latest keyframe.
   */
  async jpeg(
    app: string,
    stream: string,
  ): Promise<Uint8Array | SnapshotRefusal> {
    if (this.#deps.protectedApp(app)) {
      return {
        status: 403,
        message: `Snapshots of token-protected app '${app}' are not served`,
      };
    }
    const k = this.#streams.get(`${app}/${stream}`);
    const hub = this.#deps.registry.get(app, stream);
    if (!k || !hub) {
      return { status: 404, message: `Stream not found: ${app}/${stream}` };
    }
    if (!k.keyframe || !k.config) {
      const codec = hub.codecs.video;
      return codec && codec !== VideoCodec.Avc
        ? {
          status: 415,
          message: `No snapshots of ${codec} video (H.264 only)`,
        }
        : { status: 404, message: `No keyframe yet: ${app}/${stream}` };
    }
    const fresh = this.#now() - k.madeAtMs < this.#o.intervalSeconds * 1000;
    if (k.jpeg && (fresh || k.madeOf === k.keyframe)) {
      this.#made.inc({ outcome: "cached" });
      return k.jpeg;
    }
    if (!k.making) {
      const keyframe = k.keyframe;
      const flv = concatBytes([
        encodeFlvHeader({ hasAudio: false, hasVideo: true }),
        encodeFlvTag({ ...k.config, timestampMs: 0 }),
        encodeFlvTag({ ...keyframe, timestampMs: 0 }),
      ]);
      k.making = this.#deps.thumbnailer.frameOfFlv(flv, this.#o.width).then(
        (jpeg) => {
          k.jpeg = jpeg;
          k.madeOf = keyframe;
          k.madeAtMs = this.#now();
          return jpeg;
        },
      ).finally(() => k.making = undefined);
    }
    try {
      const jpeg = await k.making;
      this.#made.inc({ outcome: "made" });
      return jpeg;
    } catch (e) {
      this.#made.inc({ outcome: "failed" });
      const message = e instanceof Error ? e.message : String(e);
      this.#deps.log.warn("snapshot failed", {
        stream: `${app}/${stream}`,
        error: message,
      });
      return { status: 502, message };
    }
  }

  /** The route `GET /{app}/{stream}.jpg`, to mount before the live routes. */
  routes(): Hono {
    const app = new Hono();
    app.get("/:app/:file{[A-Za-z0-9_.-]+\\.jpg}", async (c) => {
      const file = c.req.param("file");
      const got = await this.jpeg(c.req.param("app"), file.slice(0, -4));
      const cors = { "Access-Control-Allow-Origin": "*" };
      if (!(got instanceof Uint8Array)) {
        return c.text(got.message, got.status, {
          ...cors,
          "Cache-Control": "no-store",
        });
      }
      return c.body(got as Uint8Array<ArrayBuffer>, 200, {
        ...cors,
        "Content-Type": "image/jpeg",
        // Edges keep it as long as it is the latest: one decode per period, whatever the audience.
        "Cache-Control": `public, max-age=${
          Math.max(1, Math.floor(this.#o.intervalSeconds))
        }`,
      });
    });
    return app;
  }

  close(): void {
    this.#unsubscribe();
    this.#streams.clear();
  }
}
