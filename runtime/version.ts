/**
 * Meridian's version, as the node directory and `/healthz` show it. Bumped by a release
 * commit; `-dev` between releases.
 *
 * @module
 */

/** The version of this build. */
export const VERSION = "0.9.0-dev";
