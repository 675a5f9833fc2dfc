/**
 * Philox4x32-10 counter-based random number generator and JAX-style keys.
 *
 * Philox is from Salmon, Moraes, Dror, Shaw, "Parallel Random Numbers: As Easy as 1, 2, 3" (SC 2011),
 * reference implementation Random123 (`philox.h`). A bijection of a 128-bit counter under a 64-bit key:
 * every output block depends only on (counter, key), so any draw can be recomputed without state.
 *
 * Keys follow JAX's explicit-key style (`jax.random.PRNGKey`, `split`, `fold_in`): a `Key` is a pair of
 * uint32 words (`[k0, k1]`, JSON-serializable as two numbers); randomness is a pure function of a key.
 * The streams are NOT bit-compatible with JAX (JAX uses Threefry-2x32); they are bit-compatible with
 * Random123's Philox4x32-10 (checked against its `kat_vectors`).
 *
 * Counter layout used here, for one key: `[index_lo, index_hi, domain, 0]`. The `domain` word separates
 * the uses of a key so they never share a block: raw bits for sampling, `split`, `foldIn`, and streams.
 */

/** A PRNG key: two uint32 words `[k0, k1]`. Plain array so it survives `JSON.stringify`/`parse`. */
export type Key = readonly [number, number];

/** Counter word 2 values: which use of the key a block belongs to. */
export const Domain = { bits: 0, split: 1, foldIn: 2, stream: 3 } as const;
export type Domain = (typeof Domain)[keyof typeof Domain];

/** Philox multipliers and Weyl key increments (Random123 PHILOX_M4x32_0/1, PHILOX_W32_0/1). */
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO32 = 4294967296;

/** High 32 bits of the 64-bit product a*b of two uint32, exactly, with double arithmetic. */
function mulhi(a: number, b: number): number {
  const bl = b & 0xffff;
  const bh = b >>> 16;
  // a*b = 2^16 * (a*bh + floor(a*bl / 2^16)) + (a*bl mod 2^16); every term stays below 2^53.
  const u = a * bh + Math.floor((a * bl) / 65536);
  return Math.floor(u / 65536) >>> 0;
}

/**
 * One Philox4x32-10 block: 10 rounds of the Philox S-box over counter `c0..c3` under key `(k0, k1)`.
 * Writes the four output words into `out[offset..offset+3]`. Random123 `philox4x32_R(10, ctr, key)`.
 */
export function philoxBlock(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
  offset = 0,
): void {
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[offset] = c0;
  out[offset + 1] = c1;
  out[offset + 2] = c2;
  out[offset + 3] = c3;
}

/** Throws unless `key` is a pair of uint32 words. `field` names the argument in the message. */
export function assertKey(key: unknown, field = "key"): asserts key is Key {
  const ok =
    Array.isArray(key) &&
    key.length === 2 &&
    key.every((w) => typeof w === "number" && Number.isInteger(w) && w >= 0 && w < TWO32);
  if (!ok) {
    throw new Error(`${field}: expected a pair of uint32 words [k0, k1], got ${JSON.stringify(key)}`);
  }
}

function assertCount(n: number, field: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Error(`${field}: expected a non-negative integer, got ${n}`);
  }
}

/**
 * Key from an integer seed (any safe integer; negatives use 64-bit two's complement), like
 * `jax.random.PRNGKey(seed)`: `[high word, low word]`.
 */
export function makeKey(seed: number): Key {
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`seed: expected a safe integer, got ${seed}`);
  }
  return [Math.floor(seed / TWO32) >>> 0, seed >>> 0];
}

/** Block `index` (an integer below 2^53) of `domain` under `key`, into `out[offset..+3]`. */
function block(key: Key, domain: Domain, index: number, out: Uint32Array, offset = 0): void {
  philoxBlock(index >>> 0, Math.floor(index / TWO32) >>> 0, domain, 0, key[0], key[1], out, offset);
}

/** The `index`-th key derived from `key` in `domain` (first two words of that block). */
export function deriveKey(key: Key, domain: Domain, index: number): Key {
  assertKey(key);
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new Error(`index: expected a non-negative safe integer, got ${index}`);
  }
  const out = new Uint32Array(4);
  block(key, domain, index, out);
  return [out[0]!, out[1]!];
}

/** `n` new independent keys from `key` (`jax.random.split`). */
export function split(key: Key, n = 2): Key[] {
  assertCount(n, "n");
  assertKey(key);
  return Array.from({ length: n }, (_, i) => deriveKey(key, Domain.split, i));
}

/**
 * A new key from `key` and an integer `data` (`jax.random.fold_in`), e.g. a step or epoch number.
 * `data` may be any non-negative safe integer.
 */
export function foldIn(key: Key, data: number): Key {
  if (!Number.isSafeInteger(data) || data < 0) {
    throw new Error(`data: expected a non-negative safe integer, got ${data}`);
  }
  return deriveKey(key, Domain.foldIn, data);
}

/** `n` raw uint32 words of `key`'s sampling stream: words 4i..4i+3 are block i of the bits domain. */
export function randomBits(key: Key, n: number): Uint32Array {
  assertKey(key);
  assertCount(n, "n");
  const blocks = Math.ceil(n / 4);
  const buf = new Uint32Array(blocks * 4);
  for (let i = 0; i < blocks; i++) block(key, Domain.bits, i, buf, 4 * i);
  return buf.length === n ? buf : buf.slice(0, n);
}

/**
 * Words `offset..offset+n-1` of `key`'s sampling stream: `randomBits(key, offset + n).subarray(offset)`
 * without producing the words before `offset` (Philox is counter-based: block i needs only i).
 */
export function randomBitsAt(key: Key, offset: number, n: number): Uint32Array {
  assertKey(key);
  assertCount(offset, "offset");
  assertCount(n, "n");
  const first = Math.floor(offset / 4);
  const blocks = Math.ceil((offset + n) / 4) - first;
  const buf = new Uint32Array(blocks * 4);
  for (let i = 0; i < blocks; i++) block(key, Domain.bits, first + i, buf, 4 * i);
  return buf.subarray(offset - 4 * first, offset - 4 * first + n);
}

/**
 * Sequential reader of a key's sampling stream (same words as `randomBits`, produced block by block),
 * for algorithms that consume a data-dependent number of words (rejection sampling).
 */
export class BitReader {
  private readonly buf = new Uint32Array(4);
  private blockIndex = 0;
  private pos = 4;

  constructor(private readonly key: Key) {
    assertKey(key);
  }

  /** The next uint32 word. */
  next(): number {
    if (this.pos === 4) {
      block(this.key, Domain.bits, this.blockIndex++, this.buf);
      this.pos = 0;
    }
    return this.buf[this.pos++]!;
  }
}
