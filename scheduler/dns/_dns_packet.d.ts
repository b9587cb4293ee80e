// Minimal typings for npm:dns-packet@5.6.1 (the package ships none); see packet.ts.
declare const dnsPacket: {
  // deno-lint-ignore no-explicit-any
  encode(packet: any): Uint8Array & { buffer: ArrayBuffer };
  // deno-lint-ignore no-explicit-any
  decode(buf: Uint8Array): any;
};
export default dnsPacket;
