/**
 * Real peers for tests (ffmpeg, ffprobe): found on PATH, bounded in time, killed in `finally`.
 *
 * @module
 */

/** True when `name` runs (`name -version`). */
export async function hasBinary(name: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(name, {
      args: ["-version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Result of a finished peer. */
export interface PeerOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command to completion, killing it after `timeoutMs`.
 */
export async function runPeer(
  cmd: string,
  args: string[],
  timeoutMs = 30_000,
): Promise<PeerOutput> {
  const child = new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A background peer (a publisher) that the test stops. */
export interface BackgroundPeer {
  readonly child: Deno.ChildProcess;
  stop(): Promise<void>;
}

/** Starts a long-running peer whose output is discarded; `stop()` kills and reaps it. */
export function startPeer(
  cmd: string,
  args: string[],
  timeoutMs = 60_000,
): BackgroundPeer {
  const child = new Deno.Command(cmd, {
    args,
    stdout: "null",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const stderr = child.stderr.pipeTo(new WritableStream()).catch(() => {});
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  return {
    child,
    async stop() {
      clearTimeout(timer);
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      await stderr;
    },
  };
}

/** ffmpeg args that publish a synthetic H.264/AAC stream with a 2 s GOP to `url` for `seconds`. */
export function publishArgs(
  url: string,
  seconds: number,
  opts: { gop?: number; realtime?: boolean } = {},
): string[] {
  return [
    "-v",
    "error",
    "-nostdin",
    ...(opts.realtime === false ? [] : ["-re"]),
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x240:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=1000:sample_rate=44100",
    "-t",
    String(seconds),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-g",
    String(opts.gop ?? 50),
    "-keyint_min",
    String(opts.gop ?? 50),
    "-sc_threshold",
    "0",
    "-c:a",
    "aac",
    "-b:a",
    "64k",
    "-f",
    "flv",
    url,
  ];
}

/** ffmpeg publishing one encode to every URL (tee; a failed output is dropped, not fatal). */
export function teeArgs(urls: string[], seconds: number): string[] {
  return [
    "-v",
    "error",
    "-nostdin",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x240:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=1000:sample_rate=44100",
    "-t",
    String(seconds),
    "-map",
    "0:v",
    "-map",
    "1:a",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-g",
    "25",
    "-keyint_min",
    "25",
    "-sc_threshold",
    "0",
    // The tee muxer opens its outputs late: the FLV sequence headers need the codec
    // configuration up front (extradata), or the origins get none and cannot package HLS.
    "-flags:v",
    "+global_header",
    "-c:a",
    "aac",
    "-b:a",
    "64k",
    "-f",
    "tee",
    urls.map((u) => `[f=flv:onfail=ignore]${u}`).join("|"),
  ];
}

/** ffprobe's stream list of `url` as JSON. */
export async function probeStreams(
  url: string,
  timeoutMs = 20_000,
): Promise<{ codec_name: string; codec_type: string }[]> {
  const out = await runPeer("ffprobe", [
    "-v",
    "error",
    "-rw_timeout",
    "10000000",
    "-show_streams",
    "-of",
    "json",
    url,
  ], timeoutMs);
  if (out.code !== 0) {
    throw new Error(
      `ffprobe ${url} failed (${out.code}): ${out.stderr.slice(0, 500)}`,
    );
  }
  return JSON.parse(out.stdout).streams ?? [];
}

/**
 * Polls `fn` until it returns a value (anything but `undefined` and `false`) or the deadline
 * passes: the one wait of the suite (a condition to reach, never a sleep to hope by).
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
  stepMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}
