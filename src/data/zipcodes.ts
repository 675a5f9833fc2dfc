/**
 * US zip code locations from the npm package `vega-datasets` (`data/zipcodes.csv`: zip_code, latitude,
 * longitude, city, state, county) as 2-D points (longitude, latitude), standardized per coordinate;
 * `normalization` maps them back to degrees.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCsv, parseNumber } from "./csv.js";
import { standardize } from "./normalize.js";
import { packageRoot } from "./packages.js";
import { applyLimit, type VectorDataset } from "./types.js";

export interface ZipcodesOptions {
  limit?: number;
  /**
   * "contiguous" (default): keep points in the lower 48 states' bounding box (longitude -125..-66,
   * latitude 24..50), so Alaska, Hawaii and the territories do not dominate the scale; "all": keep
   * every valid row.
   */
  region?: "contiguous" | "all";
}

const CONTIGUOUS = { lonMin: -125, lonMax: -66, latMin: 24, latMax: 50 };

/** (lon, lat) pairs of the valid rows: both numbers finite, |lat| <= 90, |lon| <= 180, not (0, 0). */
export function parseZipcodes(text: string, region: "contiguous" | "all"): number[] {
  const [header, ...rows] = parseCsv(text);
  const names = header?.fields.map((f) => f.trim()) ?? [];
  const lat = names.indexOf("latitude");
  const lon = names.indexOf("longitude");
  if (lat < 0 || lon < 0) throw new Error(`zipcodes: header needs latitude and longitude, got [${names}]`);
  const out: number[] = [];
  for (const { fields } of rows) {
    const y = parseNumber(fields[lat] ?? "");
    const x = parseNumber(fields[lon] ?? "");
    const valid = Number.isFinite(x) && Number.isFinite(y) && Math.abs(y) <= 90 && Math.abs(x) <= 180;
    if (!valid || (x === 0 && y === 0)) continue;
    const c = CONTIGUOUS;
    if (region === "contiguous" && !(x >= c.lonMin && x <= c.lonMax && y >= c.latMin && y <= c.latMax))
      continue;
    out.push(x, y);
  }
  return out;
}

/** Loads zip code locations as standardized (longitude, latitude) points. */
export function loadZipcodes(opts: ZipcodesOptions = {}): VectorDataset {
  const region = opts.region ?? "contiguous";
  if (region !== "contiguous" && region !== "all") {
    throw new Error(`region: expected "contiguous" or "all", got ${JSON.stringify(region)}`);
  }
  const pts = parseZipcodes(
    readFileSync(join(packageRoot("vega-datasets", "zipcodes"), "data", "zipcodes.csv"), "utf8"),
    region,
  );
  const n = applyLimit(opts.limit, pts.length / 2);
  const data = Float32Array.from(pts.slice(0, 2 * n));
  const normalization = standardize(data, 2);
  return {
    name: "zipcodes",
    kind: "points",
    data,
    dim: 2,
    columns: ["longitude", "latitude"],
    normalization,
  };
}
