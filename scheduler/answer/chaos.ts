/**
 * CHAOS-class answers (`version.bind`, `id.server`, …, as BIND and gdnsd give them): the names
 * configured (`scheduler.dns.chaos`) and the one TXT record each answers with; anything else of
 * class CH is refused.
 *
 * @module
 */

import { RRClass, RRType } from "../dns/constants.ts";
import { QUESTION_NAME, type TemplateRecord } from "../dns/template.ts";

/** The CHAOS names a config answers, with their text (`""` values answer nothing). */
export function chaosNames(chaos: {
  readonly version: string;
  readonly id: string;
}): ReadonlyMap<string, string> {
  const names = new Map<string, string>();
  if (chaos.version) {
    names.set("version.bind", chaos.version).set(
      "version.server",
      chaos.version,
    );
  }
  if (chaos.id) names.set("id.server", chaos.id).set("hostname.bind", chaos.id);
  return names;
}

/** The TXT record (class CH, TTL 0) a CHAOS name answers with. */
export function chaosRecord(text: string): TemplateRecord {
  return {
    type: RRType.TXT,
    class: RRClass.CH,
    owner: QUESTION_NAME,
    ttl: 0,
    data: [text],
  };
}
