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

/**
 * A point as a unit vector (x, y, z) written at `out[offset..offset+3]`. With these, the
 * great-circle distance is {@link kmFromChord} of the straight-line (chord) distance: three
 * multiplications per pair instead of the haversine's trigonometry, for ranking many points.
 */
export function writeUnitVector(
  p: GeoPoint,
  out: Float64Array,
  offset: number,
): void {
  const lat = p.latitude * RAD;
  const lon = p.longitude * RAD;
  const c = Math.cos(lat);
  out[offset] = c * Math.cos(lon);
  out[offset + 1] = c * Math.sin(lon);
  out[offset + 2] = Math.sin(lat);
}

/**
 * Great-circle distance (km) between two unit vectors `chord` apart: θ = 2·asin(chord / 2), the
 * same angle the haversine formula finds.
 *
 * @example
 * ```ts
 * import { haversineKm, kmFromChord, writeUnitVector } from "./distance.ts";
 * const fra = { latitude: 50.11, longitude: 8.68 }, sin = { latitude: 1.35, longitude: 103.82 };
 * const v = new Float64Array(6);
 * writeUnitVector(fra, v, 0);
 * writeUnitVector(sin, v, 3);
 * const chord = Math.hypot(v[0]! - v[3]!, v[1]! - v[4]!, v[2]! - v[5]!);
 * if (Math.abs(kmFromChord(chord) - haversineKm(fra, sin)) > 1e-6) throw new Error("differs");
 * ```
 */
export function kmFromChord(chord: number): number {
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, chord / 2));
}
