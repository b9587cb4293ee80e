/**
 * Checks every backend applies alike before writing a node record or a resume position
 * (module-private to store/).
 *
 * @module
 */

import { StoreError, StoreErrorCode } from "./errors.ts";
import {
  MAX_NODE_RECORD_BYTES,
  MAX_RESUME_VIDEO_CHARS,
  MAX_RESUME_VIEWER_CHARS,
  type NodeRecord,
  type ResumePosition,
} from "./types.ts";

/** Node ids as the directory takes them. */
const NODE_ID_RE = /^[A-Za-z0-9_.:\[\]-]{1,128}$/;

function bad(message: string): StoreError {
  return new StoreError(StoreErrorCode.BadValue, message);
}

/**
 * The record as JSON, checked.
 *
 * @throws {StoreError} `STORE_BAD_VALUE` for a bad id or a record over its size.
 */
export function checkNodeRecord(record: NodeRecord): string {
  if (!NODE_ID_RE.test(record.id)) {
    throw bad(
      `Cannot announce node: id must be 1..128 characters of [A-Za-z0-9_.:[]-], got ${
        JSON.stringify(record.id.slice(0, 64))
      }`,
    );
  }
  const json = JSON.stringify(record);
  if (json.length > MAX_NODE_RECORD_BYTES) {
    throw bad(
      `Cannot announce node: record is ${json.length} characters, expected at most ${MAX_NODE_RECORD_BYTES}`,
    );
  }
  return json;
}

/**
 * Checks the viewer id and video key of a resume position.
 *
 * @throws {StoreError} `STORE_BAD_VALUE` naming the part over its limit (never its value: a
 *   viewer id may identify a person).
 */
export function checkResumeKey(viewerId: string, video: string): void {
  if (viewerId.length === 0 || viewerId.length > MAX_RESUME_VIEWER_CHARS) {
    throw bad(
      `Cannot use resume position: viewer id must be 1..${MAX_RESUME_VIEWER_CHARS} characters, got ${viewerId.length}`,
    );
  }
  if (video.length === 0 || video.length > MAX_RESUME_VIDEO_CHARS) {
    throw bad(
      `Cannot use resume position: video key must be 1..${MAX_RESUME_VIDEO_CHARS} characters, got ${video.length}`,
    );
  }
}

/**
 * Checks a position before it is written.
 *
 * @throws {StoreError} `STORE_BAD_VALUE` for a non-finite or negative number.
 */
export function checkResumePosition(p: ResumePosition): void {
  for (const [name, v] of Object.entries(p)) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw bad(
        `Cannot write resume position: '${name}' must be a finite number >= 0, got ${
          String(v).slice(0, 32)
        }`,
      );
    }
  }
}
