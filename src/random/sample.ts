/**
 * Sampling from explicit keys: every function is a pure function of (key, arguments), built on the
 * Philox sampling stream of `philox.ts`. The same key always gives the same values, on any platform.
 */
import { BitReader, type Key, randomBits, randomBitsAt } from "./philox.js";

const TWO_M24 = 2 ** -24;
const TWO32 = 4294967296;

function assertCount(n: number, field = "n"): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Error(`${field}: expected a non-negative integer, got ${n}`);
  }
}

/**
 * `n` floats uniform on [0, 1): the top 24 bits of each word times 2^-24, so every value is an exact
 * float32 and 1 is never produced.
 */
export function uniform(key: Key, n: number): Float32Array {
  assertCount(n);
  const bits = randomBits(key, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (bits[i]! >>> 8) * TWO_M24;
  return out;
}

/**
 * Box-Muller transform (Box & Muller 1958) of two uint32 words into two standard normals, in float64.
 * u1 = (b1 + 1) / 2^32 lies in (0, 1], so log(u1) is finite: |z| <= sqrt(2 ln 2^32) ~ 6.66.
 * u2 = b2 / 2^32 lies in [0, 1). Returns [r cos(2 pi u2), r sin(2 pi u2)] with r = sqrt(-2 ln u1).
 */
export function boxMuller(b1: number, b2: number): [number, number] {
  const u1 = (b1 + 1) / TWO32;
  const u2 = b2 / TWO32;
  const r = Math.sqrt(-2 * Math.log(u1));
  const theta = 2 * Math.PI * u2;
  return [r * Math.cos(theta), r * Math.sin(theta)];
}

/** `n` standard normal draws (Box-Muller on consecutive word pairs, float64 math, cast to float32). */
export function normal(key: Key, n: number): Float32Array {
  assertCount(n);
  const bits = randomBits(key, n + (n % 2));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const [z0, z1] = boxMuller(bits[i]!, bits[i + 1]!);
    out[i] = z0;
    if (i + 1 < n) out[i + 1] = z1;
  }
  return out;
}

/**
 * Values `offset..offset+n-1` of `normal(key, offset + n)`, computed from those positions' words only
 * (a Box-Muller pair straddling either end is computed whole). Lets a long draw be produced in pieces,
 * e.g. the start noise of a batch of samples equal to its rows of the whole run's draw.
 */
export function normalAt(key: Key, offset: number, n: number): Float32Array {
  assertCount(offset, "offset");
  assertCount(n);
  const from = offset - (offset % 2);
  const to = offset + n + ((offset + n) % 2);
  const bits = randomBitsAt(key, from, to - from);
  const out = new Float32Array(n);
  for (let i = from; i < to; i += 2) {
    const [z0, z1] = boxMuller(bits[i - from]!, bits[i + 1 - from]!);
    if (i >= offset && i < offset + n) out[i - offset] = z0;
    if (i + 1 >= offset && i + 1 < offset + n) out[i + 1 - offset] = z1;
  }
  return out;
}

/**
 * An unbiased integer in [0, range) from a word reader, by rejection: words at or above the largest
 * multiple of `range` that fits in 2^32 are redrawn, so `word mod range` is exactly uniform.
 * `range` must be an integer in [1, 2^32].
 */
export function uniformBelow(reader: BitReader, range: number): number {
  const limit = TWO32 - (TWO32 % range);
  for (;;) {
    const w = reader.next();
    if (w < limit) return w % range;
  }
}

/** `n` integers uniform on [low, high) (unbiased). Requires high - low in [1, 2^32]. */
export function randint(key: Key, n: number, low: number, high: number): Int32Array {
  assertCount(n);
  for (const [name, v] of [
    ["low", low],
    ["high", high],
  ] as const) {
    if (!Number.isInteger(v) || v < -(2 ** 31) || v > 2 ** 31) {
      throw new Error(`${name}: expected an integer in [-2^31, 2^31], got ${v}`);
    }
  }
  if (high <= low) throw new Error(`high: expected high > low (low = ${low}), got ${high}`);
  const reader = new BitReader(key);
  const out = new Int32Array(n);
  const range = high - low;
  for (let i = 0; i < n; i++) out[i] = low + uniformBelow(reader, range);
  return out;
}

/**
 * A uniformly random permutation of 0..n-1: Fisher-Yates (Durstenfeld's in-place version), the swap
 * index for position i drawn unbiased from [0, i] off the key's stream.
 */
export function permutation(key: Key, n: number): Int32Array {
  assertCount(n);
  if (n > 2 ** 31) throw new Error(`n: expected at most 2^31, got ${n}`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  const reader = new BitReader(key);
  for (let i = n - 1; i > 0; i--) {
    const j = uniformBelow(reader, i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

/** `n` Bernoulli(p) draws as 0/1: 1 where word < p * 2^32 (exact for p = 0 and p = 1). */
export function bernoulli(key: Key, n: number, p: number): Uint8Array {
  assertCount(n);
  if (!(p >= 0 && p <= 1)) throw new Error(`p: expected a probability in [0, 1], got ${p}`);
  const bits = randomBits(key, n);
  const threshold = p * TWO32;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = bits[i]! < threshold ? 1 : 0;
  return out;
}
