/**
 * Video on demand: media-library folders served as progressive MP4 and FLV (byte ranges, seek by
 * time, frame-exact starts), HLS, thumbnails and a listing with metadata.
 *
 * @module
 */

export {
  registerVodMetrics,
  type VodConfig,
  type VodDeps,
  VodService,
} from "./service.ts";
export { VodError, VodErrorCode } from "./errors.ts";
export {
  checkRelPath,
  extensionOf,
  Library,
  type LibraryConfig,
  type LibraryFile,
  MEDIA_EXTENSIONS,
} from "./library.ts";
export { indexMediaFile, MediaCache, type MediaFile } from "./media_file.ts";
export {
  flvSource,
  frameRateOf,
  mp4Source,
  planRange,
  type TimeRange,
} from "./outputs.ts";
export {
  type FileSpan,
  type Piece,
  type PieceSource,
  pieceStream,
} from "./body.ts";
export {
  planSegments,
  vodPlaylist,
  type VodSegment,
  vodSegment,
} from "./hls.ts";
