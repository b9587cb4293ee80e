/**
 * Range and conditional requests moved below the roles (the origin's VOD serves them too):
 * see net/http/conditional.ts.
 *
 * @module
 */

export * from "../../net/http/conditional.ts";
