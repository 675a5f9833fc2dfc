/**
 * 2-D toy distributions, generated from a key (same key and n -> same points). Definitions and scales
 * follow FFJORD's `lib/toy_data.py` (Grathwohl et al. 2019), which uses scikit-learn's `make_moons`
 * and `make_swiss_roll`; values already lie within about [-4, 4], so their normalization is the identity.
 * Continuous parameters are drawn uniformly instead of on scikit-learn's linspace grid.
 */
import { type Key, split } from "../random/philox.js";
import { normal, randint, uniform } from "../random/sample.js";
import { identityNormalization } from "./normalize.js";
import type { VectorDataset } from "./types.js";

function assertN(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`n: expected a positive integer, got ${n}`);
}

function points(name: string, data: Float32Array, labels?: Int32Array, numClasses?: number): VectorDataset {
  const base: VectorDataset = { name, kind: "points", data, dim: 2, normalization: identityNormalization(2) };
  return labels ? { ...base, labels, numClasses } : base;
}

/**
 * Two interleaved half circles (`make_moons(noise=0.1)`, then x 2 + (-1, -0.2) as FFJORD):
 * upper moon (cos t, sin t), lower moon (1 - cos t, 0.5 - sin t), t ~ U[0, pi). Label = moon.
 */
export function moons(key: Key, n: number): VectorDataset {
  assertN(n);
  const [kt, kl, kn] = split(key, 3) as [Key, Key, Key];
  const t = uniform(kt, n);
  const which = randint(kl, n, 0, 2);
  const noise = normal(kn, 2 * n);
  const data = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const a = Math.PI * t[i]!;
    const x = which[i] === 0 ? Math.cos(a) : 1 - Math.cos(a);
    const y = which[i] === 0 ? Math.sin(a) : 0.5 - Math.sin(a);
    data[2 * i] = (x + 0.1 * noise[2 * i]!) * 2 - 1;
    data[2 * i + 1] = (y + 0.1 * noise[2 * i + 1]!) * 2 - 0.2;
  }
  return points("moons", data, which, 2);
}

/**
 * Swiss roll (`make_swiss_roll(noise=1.0)` keeping the (x, z) plane, / 5 as FFJORD):
 * t = 1.5 pi (1 + 2u), point = (t cos t, t sin t) + N(0, 1), then / 5.
 */
export function swissroll(key: Key, n: number): VectorDataset {
  assertN(n);
  const [kt, kn] = split(key, 2) as [Key, Key];
  const u = uniform(kt, n);
  const noise = normal(kn, 2 * n);
  const data = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = 1.5 * Math.PI * (1 + 2 * u[i]!);
    data[2 * i] = (t * Math.cos(t) + noise[2 * i]!) / 5;
    data[2 * i + 1] = (t * Math.sin(t) + noise[2 * i + 1]!) / 5;
  }
  return points("swissroll", data);
}

/**
 * Checkerboard (FFJORD): x1 ~ U[-2, 2); x2 ~ U[0, 1) - 2b with b ~ {0, 1}, shifted up by one on odd
 * columns (floor(x1) mod 2); both scaled by 2. Eight filled squares of side 2 in [-4, 4]^2.
 */
export function checkerboard(key: Key, n: number): VectorDataset {
  assertN(n);
  const [k1, k2, kb] = split(key, 3) as [Key, Key, Key];
  const u1 = uniform(k1, n);
  const u2 = uniform(k2, n);
  const b = randint(kb, n, 0, 2);
  const data = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const x1 = u1[i]! * 4 - 2;
    const shift = ((Math.floor(x1) % 2) + 2) % 2;
    data[2 * i] = x1 * 2;
    data[2 * i + 1] = (u2[i]! - 2 * b[i]! + shift) * 2;
  }
  return points("checkerboard", data);
}

/**
 * Mixture of 8 Gaussians (FFJORD "8gaussians"): centers 4 (cos 2 pi k/8, sin 2 pi k/8), std 0.5,
 * all divided by sqrt 2 (FFJORD writes 1.414). Label = component k.
 */
export function gaussians(key: Key, n: number): VectorDataset {
  assertN(n);
  const [kc, kn] = split(key, 2) as [Key, Key];
  const k = randint(kc, n, 0, 8);
  const noise = normal(kn, 2 * n);
  const data = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const a = (2 * Math.PI * k[i]!) / 8;
    data[2 * i] = (4 * Math.cos(a) + 0.5 * noise[2 * i]!) / Math.SQRT2;
    data[2 * i + 1] = (4 * Math.sin(a) + 0.5 * noise[2 * i + 1]!) / Math.SQRT2;
  }
  return points("gaussians", data, k, 8);
}
