/**
 * Country (ISO 3166-1 alpha-2) → continent code, as GeoIP2 names them (AF AN AS EU NA OC SA).
 *
 * The DB-IP lite records carry only `country_code`; this small table supplies the continent.
 *
 * @module
 */

/** Continent codes. */
export type ContinentCode = "AF" | "AN" | "AS" | "EU" | "NA" | "OC" | "SA";

const BY_CONTINENT: Readonly<Record<ContinentCode, string>> = {
  AF:
    "DZ AO BJ BW BF BI CM CV CF TD KM CG CD CI DJ EG GQ ER ET GA GM GH GN GW KE LS LR LY MG MW " +
    "ML MR MU YT MA MZ NA NE NG RE RW SH ST SN SC SL SO ZA SS SD SZ TZ TG TN UG EH ZM ZW",
  AN: "AQ BV GS HM TF",
  AS:
    "AF AM AZ BH BD BT IO BN KH CN CX CC GE HK IN ID IR IQ IL JP JO KZ KW KG LA LB MO MY MV MN " +
    "MM NP KP OM PK PS PH QA SA SG KR LK SY TW TJ TH TL TR TM AE UZ VN YE AP",
  EU:
    "AL AD AT BY BE BA BG HR CY CZ DK EE FO FI FR DE GI GR GG HU IS IE IM IT JE XK LV LI LT LU " +
    "MT MD MC ME NL MK NO PL PT RO RU SM RS SK SI ES SJ SE CH UA GB VA AX EU",
  NA:
    "AI AG AW BS BB BZ BM BQ VG CA KY CR CU CW DM DO SV GL GD GP GT HT HN JM MQ MX MS NI PA PR " +
    "BL KN LC MF PM VC SX TT TC US VI UM",
  OC:
    "AS AU CK FJ PF GU KI MH FM NR NC NZ NU NF MP PW PG PN WS SB TK TO TV VU WF",
  SA: "AR BO BR CL CO EC FK GF GY PY PE SR UY VE",
};

const TABLE: ReadonlyMap<string, ContinentCode> = new Map(
  (Object.entries(BY_CONTINENT) as [ContinentCode, string][]).flatMap((
    [c, list],
  ) => list.split(" ").map((cc) => [cc, c] as const)),
);

/**
 * The continent of a country code, or `undefined` for unknown codes.
 *
 * @example
 * ```ts
 * import { continentOf } from "./continents.ts";
 * if (continentOf("de") !== "EU" || continentOf("SG") !== "AS") throw new Error("table");
 * ```
 */
export function continentOf(countryCode: string): ContinentCode | undefined {
  return TABLE.get(countryCode.toUpperCase());
}
