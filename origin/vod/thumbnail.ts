/**
 * Thumbnails of library files: one JPEG frame at a time, made by ffmpeg (decoding one frame
 * near the time asked for), at most a few at once. Live snapshots (origin/transcode) use the
 * same runner on a tiny FLV of one keyframe fed through stdin.
 *
 * @module
 */

import { VodError, VodErrorCode } from "./errors.ts";

/** ffmpeg processes running at once; more requests wait. */
export const MAX_THUMBNAIL_JOBS = 2;
/** A thumbnail that takes longer is abandoned (ms). */
export const THUMBNAIL_TIMEOUT_MS = 10_000;
/** Width of thumbnails (pixels; height keeps the aspect ratio). */
export const THUMBNAIL_WIDTH = 320;

/** Makes JPEG frames with ffmpeg. */
export class Thumbnailer {
  readonly #ffmpeg: string;
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  #missing: boolean | undefined;

  constructor(ffmpeg: string) {
    this.#ffmpeg = ffmpeg;
  }

  /**
   * A JPEG of the frame at `seconds` of the file.
   *
   * @throws {VodError} `VOD_NOT_IMPLEMENTED` when ffmpeg is not installed; `VOD_BAD_MEDIA`
   *   when it cannot make the frame.
   */
  async frameAt(path: string, seconds: number): Promise<Uint8Array> {
    return await this.#queued(
      ["-ss", seconds.toFixed(3), "-i", path],
      undefined,
      THUMBNAIL_WIDTH,
      `at ${seconds} s`,
    );
  }

  /**
   * A JPEG of the first video frame of `flv`, an FLV file held in memory (a live stream's
   * sequence header and one keyframe), fed to ffmpeg on stdin: one decode, no file.
   *
   * @param width Picture width (height keeps the aspect ratio).
   * @throws {VodError} `VOD_NOT_IMPLEMENTED` when ffmpeg is not installed; `VOD_BAD_MEDIA`
   *   when it cannot decode the frame.
   */
  async frameOfFlv(flv: Uint8Array, width: number): Promise<Uint8Array> {
    return await this.#queued(
      ["-f", "flv", "-i", "pipe:0"],
      flv,
      width,
      "of the keyframe",
    );
  }

  async #queued(
    input: string[],
    stdin: Uint8Array | undefined,
    width: number,
    what: string,
  ): Promise<Uint8Array> {
    if (this.#missing) throw this.#missingError();
    if (this.#running >= MAX_THUMBNAIL_JOBS) {
      await new Promise<void>((r) => this.#waiting.push(r));
    }
    this.#running++;
    try {
      return await this.#run(input, stdin, width, what);
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  #missingError(): VodError {
    return new VodError(
      VodErrorCode.NotImplemented,
      `Cannot make thumbnails: ffmpeg ('${this.#ffmpeg}') is not installed`,
    );
  }

  async #run(
    input: string[],
    stdin: Uint8Array | undefined,
    width: number,
    what: string,
  ): Promise<Uint8Array> {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.#ffmpeg, {
        args: [
          // With stdin as the input, -nostdin only stops ffmpeg reading keys from it.
          "-nostdin",
          "-v",
          "error",
          ...input,
          "-frames:v",
          "1",
          "-vf",
          `scale=${width}:-2`,
          "-f",
          "image2",
          "-c:v",
          "mjpeg",
          "pipe:1",
        ],
        stdin: stdin ? "piped" : "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        this.#missing = true;
        throw this.#missingError();
      }
      throw new VodError(VodErrorCode.Io, "Cannot start ffmpeg", { cause: e });
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone already
      }
    }, THUMBNAIL_TIMEOUT_MS);
    try {
      if (stdin) {
        const w = child.stdin.getWriter();
        // A child that dies early closes its stdin: its status says why, below.
        await w.write(stdin).then(() => w.close()).catch(() => {});
      }
      const out = await child.output();
      if (!out.success || out.stdout.length === 0) {
        const why =
          new TextDecoder().decode(out.stderr).trim().split("\n").pop() ??
            "";
        throw new VodError(
          VodErrorCode.BadMedia,
          `Cannot make a thumbnail ${what}: ${why.slice(0, 200) || "no frame"}`,
        );
      }
      return out.stdout;
    } finally {
      clearTimeout(timer);
    }
  }
}
