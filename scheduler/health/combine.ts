/**
 * How a scheduler combines health verdicts of one edge: its own monitor's and those other
 * schedulers sharing the store reported (`store.edges.reportHealth`), so schedulers reading one
 * store answer alike.
 *
 * @module
 */

/**
 * Combines several schedulers' views of one edge: up when at least as many say up as down (a
 * tie keeps the edge: one scheduler's bad network should not empty everyone's answers);
 * `undefined` without any view.
 *
 * @example
 * ```ts
 * import { combineHealthViews } from "./combine.ts";
 * if (combineHealthViews([{ up: true }, { up: false }]) !== true) throw new Error("tie is up");
 * if (combineHealthViews([{ up: false }, { up: false }, { up: true }]) !== false) throw new Error();
 * if (combineHealthViews([]) !== undefined) throw new Error("no view");
 * ```
 */
export function combineHealthViews(
  views: readonly { readonly up: boolean }[],
): boolean | undefined {
  if (views.length === 0) return undefined;
  let up = 0;
  for (const v of views) if (v.up) up++;
  return up >= views.length - up;
}
