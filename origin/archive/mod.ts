/**
 * The time-addressed archive of the origin: one store of live segments (the DVR) answers
 * time-shift (直播时移), the programme list (节目单), and clips (剪切) cut from it, beside
 * recordings (录播) written into the VOD library, which serves them at once.
 *
 * @module
 */

export * from "./errors.ts";
export {
  ArchivePolicies,
  type DvrPolicy,
  type RecordPolicy,
} from "./policy.ts";
export {
  type DvrSegment,
  type DvrSessionInfo,
  DvrStore,
  type DvrStreamView,
} from "./dvr_store.ts";
export {
  archiveErrorResponse,
  ArchiveHttp,
  isArchiveName,
  type TimeshiftAnswer,
} from "./http.ts";
export { ProgrammeSchedule } from "./schedule.ts";
export { parseTime } from "./time.ts";
export { type Archive, type ArchiveDeps, openArchive } from "./archive.ts";
export { type TimeshiftFlvRequest } from "./flv_timeshift.ts";
