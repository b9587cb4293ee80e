/**
 * The one base of Meridian's error classes: a stable machine-readable `code`, a message that
 * says what failed and the bad value, and a chained `cause` (STYLE B6). Each area keeps its own
 * class (`RtmpProtocolError`, `ConfigError`, …) and its table of codes; the class body is this.
 *
 * Below every other module, codec/ included: it imports nothing.
 *
 * @example
 * ```ts
 * import { CodedError } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const Codes = { Bad: "DEMO_BAD" } as const;
 * class DemoError extends CodedError<typeof Codes[keyof typeof Codes]> {
 *   override name = "DemoError";
 * }
 * const e = new DemoError(Codes.Bad, "Cannot demo: got 1", { cause: new Error("inner") });
 * assert.equal(e.code, "DEMO_BAD");
 * assert.ok(e instanceof CodedError && e.cause instanceof Error);
 * ```
 *
 * @module
 */

/** An error with a stable `code` (one of its area's table) and an optional `cause`. */
export class CodedError<C extends string = string> extends Error {
  override name = "CodedError";
  /** Stable, machine-readable code. */
  readonly code: C;

  /** @param code One of the area's codes. @param message What failed, and the bad value. */
  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
