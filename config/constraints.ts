/**
 * Constraints of config values beyond "same type as the default", shared by every section's
 * schema. Each returns the expectation text when the value breaks it, else `undefined`.
 *
 * @module
 */

/** A check of one value; returns what was expected when violated. */
export type Constraint = (value: unknown) => string | undefined;

/**
 * An integer in `min..max`.
 *
 * @example
 * ```ts
 * import { intIn } from "./constraints.ts";
 * if (intIn(0, 9)(10) !== "an integer 0..9") throw new Error("range");
 * ```
 */
export const intIn = (min: number, max: number): Constraint => (v) =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max
    ? undefined
    : `an integer ${min}..${max}`;

/** A finite number in `min..max`. */
export const numIn = (min: number, max: number): Constraint => (v) =>
  typeof v === "number" && Number.isFinite(v) && v >= min && v <= max
    ? undefined
    : `a number ${min}..${max}`;

/** One of the given strings. */
export const oneOf = (...values: string[]): Constraint => (v) =>
  typeof v === "string" && values.includes(v)
    ? undefined
    : `one of ${values.join(", ")}`;
