/**
 * A raw RTMP client for tests: digest handshake, commands, media messages, and a message inbox.
 * Used where ffmpeg cannot say what a test needs (misbehaving clients, enhanced RTMP tags).
 *
 * @module
 */
import type { FlvTag } from "../../codec/flv/types.ts";
import {
  encodeCommand,
  encodeRtmpMessage,
  RtmpChunkReader,
  RtmpClientHandshake,
  type RtmpMessage,
} from "../../codec/rtmp/mod.ts";

export class RawClient {
  readonly conn: Deno.Conn;
  #reader = new RtmpChunkReader();
  #inbox: RtmpMessage[] = [];
  #buf = new Uint8Array(65536);

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  static async connect(port: number): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    // The handshake's last write and the first command go out at once, not a delayed ACK later.
    conn.setNoDelay(true);
    const client = new RawClient(conn);
    const hs = new RtmpClientHandshake({ digest: true });
    await conn.write(hs.start());
    for (;;) {
      const n = await conn.read(client.#buf);
      if (n === null) throw new Error("Closed during handshake");
      const step = hs.push(client.#buf.subarray(0, n));
      if (step.done) {
        await conn.write(step.output!);
        client.#inbox.push(...client.#reader.push(step.rest));
        return client;
      }
    }
  }

  async send(
    name: string,
    txn: number,
    commandObject: unknown,
    args: unknown[],
    streamId = 0,
  ) {
    await this.conn.write(encodeRtmpMessage(
      encodeCommand({
        name,
        transactionId: txn,
        commandObject: commandObject as null,
        args: args as [],
      }, streamId),
      128,
    ));
  }

  /** Sends one media or data message (an FLV tag body) on `streamId`. */
  async sendTag(tag: FlvTag, streamId = 1) {
    await this.conn.write(encodeRtmpMessage({
      csid: tag.type === 9 ? 6 : tag.type === 8 ? 4 : 5,
      typeId: tag.type,
      streamId,
      timestampMs: tag.timestampMs,
      payload: tag.data,
    }, 128));
  }

  /** Waits for a message matching `pred`, up to `timeoutMs`. */
  async until(
    pred: (m: RtmpMessage) => boolean,
    timeoutMs = 5000,
  ): Promise<RtmpMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#inbox.findIndex(pred);
      if (i >= 0) return this.#inbox.splice(0, i + 1).at(-1)!;
      if (Date.now() > deadline) {
        throw new Error("Timed out waiting for a message");
      }
      const n = await this.conn.read(this.#buf);
      if (n === null) throw new Error("Closed by server");
      this.#inbox.push(...this.#reader.push(this.#buf.subarray(0, n)));
    }
  }
}
