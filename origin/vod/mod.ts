/**
 * Video on demand: media-library folders served as progressive MP4 and FLV (byte ranges, seek by
 * time, frame-exact starts), HLS, thumbnails and a listing with metadata; resumable uploads,
 * moves and deletes through the origin's admin API.
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
  LibraryWriter,
  type LibraryWriterOptions,
  MAX_PENDING_UPLOADS,
  MAX_UPLOAD_CHUNK_BYTES,
  parseUploadRange,
  UPLOAD_DIR,
  type UploadRange,
  type UploadState,
} from "./upload.ts";
export { createVodAdminRoutes, type VodAdminDeps } from "./admin_http.ts";
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
export { Thumbnailer } from "./thumbnail.ts";
export { describeMedia } from "./metadata.ts";
