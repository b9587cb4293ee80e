/**
 * Thumbnails of library files: one JPEG frame at a time, made by ffmpeg (decoding one frame
 * near the time asked for), at most a few at once.
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
    if (this.#missing) throw this.#missingError();
    if (this.#running >= MAX_THUMBNAIL_JOBS) {
      await new Promise<void>((r) => this.#waiting.push(r));
    }
    this.#running++;
    try {
      return await this.#run(path, seconds);
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

  async #run(path: string, seconds: number): Promise<Uint8Array> {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.#ffmpeg, {
        args: [
          "-nostdin",
          "-v",
          "error",
          "-ss",
          seconds.toFixed(3),
          "-i",
          path,
          "-frames:v",
          "1",
          "-vf",
          `scale=${THUMBNAIL_WIDTH}:-2`,
          "-f",
          "image2",
          "-c:v",
          "mjpeg",
          "pipe:1",
        ],
        stdin: "null",
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
      const out = await child.output();
      if (!out.success || out.stdout.length === 0) {
        const why =
          new TextDecoder().decode(out.stderr).trim().split("\n").pop() ??
            "";
        throw new VodError(
          VodErrorCode.BadMedia,
          `Cannot make a thumbnail at ${seconds} s: ${
            why.slice(0, 200) || "no frame"
          }`,
        );
      }
      return out.stdout;
    } finally {
      clearTimeout(timer);
    }
  }
}
