// Typings for npm:dns-packet@5.6.1 (the package ships none), to the subset we use: see
// packet.ts for the message and record shapes.
import type { Packet } from "./packet.ts";

declare const dnsPacket: {
  encode(packet: Packet): Uint8Array & { buffer: ArrayBuffer };
  decode(buf: Uint8Array): Packet;
};
export default dnsPacket;
