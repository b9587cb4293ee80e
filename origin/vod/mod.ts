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
export { Thumbnailer } from "./thumbnail.ts";
export { describeMedia } from "./metadata.ts";
