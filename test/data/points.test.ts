import { describe, expect, it } from "vitest";
import { unnormalize } from "../../src/data/normalize.js";
import { checkerboard, gaussians, moons, swissroll } from "../../src/data/points.js";
import { loadZipcodes } from "../../src/data/zipcodes.js";
import { makeKey } from "../../src/random/philox.js";
import { expectValidDataset } from "./helpers.js";

const N = 2000;
const TOYS = { moons, swissroll, checkerboard, gaussians };

describe("toy point sets", () => {
  it.each(Object.entries(TOYS))("%s: n 2-D points, deterministic in the key", (name, f) => {
    const ds = f(makeKey(1), N);
    expect(ds.name).toBe(name);
    expect(ds.dim).toBe(2);
    expectValidDataset(ds, N);
    expect(ds.data.every((v) => Math.abs(v) < 8)).toBe(true);
    expect(f(makeKey(1), N).data).toEqual(ds.data);
    expect(f(makeKey(2), N).data).not.toEqual(ds.data);
    expect(() => f(makeKey(1), 0)).toThrow(/n.*0/);
  });

  it("checkerboard points fill the 8 even squares of a board of 2x2 cells on [-4, 4]^2", () => {
    const { data } = checkerboard(makeKey(3), N);
    const cells = new Set<string>();
    let outside = 0;
    for (let i = 0; i < N; i++) {
      const cx = Math.floor(data[2 * i]! / 2);
      const cy = Math.floor(data[2 * i + 1]! / 2);
      if (Math.abs(data[2 * i]!) > 4 || Math.abs(data[2 * i + 1]!) > 4 || (cx + cy) % 2 !== 0) outside++;
      cells.add(`${cx},${cy}`);
    }
    expect(outside).toBe(0);
    expect(cells.size).toBe(8);
  });

  it("gaussians: each point is near the center of its labelled component", () => {
    const ds = gaussians(makeKey(4), N);
    expect(new Set(ds.labels).size).toBe(8);
    let sum = 0;
    for (let i = 0; i < N; i++) {
      const a = (2 * Math.PI * ds.labels![i]!) / 8;
      const dx = ds.data[2 * i]! - (4 * Math.cos(a)) / Math.SQRT2;
      const dy = ds.data[2 * i + 1]! - (4 * Math.sin(a)) / Math.SQRT2;
      sum += Math.hypot(dx, dy);
    }
    // The distance to the center is Rayleigh with sigma = 0.5 / sqrt 2: mean sigma sqrt(pi / 2),
    // variance (4 - pi) / 2 sigma^2; allow 5 standard errors.
    const sigma = 0.5 / Math.SQRT2;
    const se = Math.sqrt((((4 - Math.PI) / 2) * sigma * sigma) / N);
    expect(Math.abs(sum / N - sigma * Math.sqrt(Math.PI / 2))).toBeLessThan(5 * se);
  });

  it("moons: two labelled half circles of roughly equal size", () => {
    const ds = moons(makeKey(5), N);
    const ones = ds.labels!.reduce((s, y) => s + y, 0);
    // Binomial(N, 1/2): 5 standard deviations
    expect(Math.abs(ones - N / 2)).toBeLessThan(5 * Math.sqrt(N / 4));
  });
});

describe("zipcodes", () => {
  it("gives standardized (longitude, latitude) with the statistics to map back to degrees", () => {
    const ds = loadZipcodes();
    const n = ds.data.length / 2;
    expect(n).toBeGreaterThan(1000);
    expectValidDataset(ds, n);
    expect(ds.columns).toEqual(["longitude", "latitude"]);
    for (let j = 0; j < 2; j++) {
      let s = 0;
      let ss = 0;
      for (let i = 0; i < n; i++) {
        s += ds.data[2 * i + j]!;
        ss += ds.data[2 * i + j]! ** 2;
      }
      expect(Math.abs(s / n)).toBeLessThan(1e-4);
      expect(Math.abs(ss / n - 1)).toBeLessThan(1e-4);
    }
    const deg = unnormalize(ds.data, ds.normalization);
    const lon = deg.filter((_, i) => i % 2 === 0);
    const lat = deg.filter((_, i) => i % 2 === 1);
    // the contiguous-US box, with float32 rounding slack
    expect(Math.min(...lon)).toBeGreaterThan(-125.001);
    expect(Math.max(...lon)).toBeLessThan(-65.999);
    expect(Math.min(...lat)).toBeGreaterThan(23.999);
    expect(Math.max(...lat)).toBeLessThan(50.001);
  });

  it("keeps more points with region all, and honours limit", () => {
    const all = loadZipcodes({ region: "all" });
    expect(all.data.length).toBeGreaterThan(loadZipcodes().data.length);
    expect(loadZipcodes({ limit: 10 }).data.length).toBe(20);
    expect(() => loadZipcodes({ region: "mars" as never })).toThrow(/region.*"mars"/);
  });
});
