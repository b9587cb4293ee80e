/**
 * Great-circle distance (haversine). Pure.
 *
 * @module
 */

/** Mean Earth radius (km), IUGG. */
export const EARTH_RADIUS_KM = 6371.0088;

/** A point on Earth in degrees. */
export interface GeoPoint {
  readonly latitude: number;
  readonly longitude: number;
}

const RAD = Math.PI / 180;

/**
 * Distance between two points along the surface (km), by the haversine formula.
 *
 * @example
 * ```ts
 * import { haversineKm } from "./distance.ts";
 * const km = haversineKm({ latitude: 50.11, longitude: 8.68 }, { latitude: 1.35, longitude: 103.82 });
 * if (Math.abs(km - 10260) > 50) throw new Error(String(km)); // Frankfurt – Singapore
 * ```
 */
export function haversineKm(a: GeoPoint, b: GeoPoint): number {
  const dLat = (b.latitude - a.latitude) * RAD;
  const dLon = (b.longitude - a.longitude) * RAD;
  const s = Math.sin(dLat / 2) ** 2 +
    Math.cos(a.latitude * RAD) * Math.cos(b.latitude * RAD) *
      Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(s)));
}
