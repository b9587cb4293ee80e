/**
 * WebRTC on the origin (`origin.webrtc.*`): WHEP playback (`POST /{app}/{stream}/whep`) of any
 * live H.264 stream (AAC audio as Opus through an ffmpeg child, `opus_audio.ts`) and WHIP
 * ingest (`POST /{app}/{stream}/whip`, OBS 30+ or a browser) into the hub, on the HTTP port.
 * ICE, DTLS and SRTP are werift's (npm), loaded on the first offer.
 *
 * @module
 */

import { ConfigError, type OriginWebrtcConfig } from "../../config/mod.ts";
import { WebrtcService, type WebrtcServiceDeps } from "./service.ts";

export { createWebrtcRoutes, NOTE_HEADER } from "./routes.ts";
export {
  type OfferRequest,
  type OfferResult,
  WebrtcService,
  type WebrtcServiceDeps,
} from "./service.ts";
export { weriftLoaded } from "./peer.ts";
export { OpusFeeds } from "./opus_audio.ts";

/**
 * The service of `origin.webrtc`; nothing of werift is loaded until an offer comes.
 *
 * @throws {ConfigError} When `icePortMax` is not above `icePortMin`.
 */
export function startWebrtc(
  config: OriginWebrtcConfig,
  deps: WebrtcServiceDeps,
): WebrtcService {
  if (config.icePortMax <= config.icePortMin) {
    throw new ConfigError(
      "origin.webrtc.icePortMax",
      config.icePortMax,
      `a port above origin.webrtc.icePortMin (${config.icePortMin})`,
    );
  }
  return new WebrtcService(config, deps);
}
