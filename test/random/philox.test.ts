import { describe, expect, it } from "vitest";
import {
  BitReader,
  Domain,
  deriveKey,
  foldIn,
  type Key,
  makeKey,
  philoxBlock,
  randomBits,
  split,
} from "../../src/random/philox.js";

/**
 * Known-answer vectors of Random123 (`tests/kat_vectors`, lines "philox4x32 10"): counter words 0-3,
 * key words 0-1, expected output words 0-3, all hex.
 */
const KAT: [string, string, string][] = [
  ["00000000 00000000 00000000 00000000", "00000000 00000000", "6627e8d5 e169c58d bc57ac4c 9b00dbd8"],
  ["ffffffff ffffffff ffffffff ffffffff", "ffffffff ffffffff", "408f276d 41c83b0e a20bc7c6 6d5451fd"],
  ["243f6a88 85a308d3 13198a2e 03707344", "a4093822 299f31d0", "d16cfe09 94fdcceb 5001e420 24126ea1"],
];
const words = (s: string) => s.split(" ").map((h) => Number.parseInt(h, 16));
const hex = (a: ArrayLike<number>) => Array.from(a, (w) => w.toString(16).padStart(8, "0")).join(" ");

describe("philoxBlock", () => {
  it.each(KAT)("matches Random123 kat_vectors: ctr %s key %s", (ctr, key, want) => {
    const [c0, c1, c2, c3] = words(ctr) as [number, number, number, number];
    const [k0, k1] = words(key) as [number, number];
    const out = new Uint32Array(4);
    philoxBlock(c0, c1, c2, c3, k0, k1, out);
    expect(hex(out)).toBe(want);
  });
});

describe("keys", () => {
  it("makeKey splits a seed into [high, low] words, two's complement for negatives", () => {
    expect(makeKey(0)).toEqual([0, 0]);
    expect(makeKey(42)).toEqual([0, 42]);
    expect(makeKey(2 ** 32 + 5)).toEqual([1, 5]);
    expect(makeKey(-1)).toEqual([0xffffffff, 0xffffffff]);
  });

  it("rejects bad seeds and keys with the value in the message", () => {
    expect(() => makeKey(1.5)).toThrow(/seed.*1\.5/);
    expect(() => makeKey(2 ** 60)).toThrow(/seed/);
    expect(() => split([1, -1] as unknown as Key, 2)).toThrow(/key.*\[1,-1\]/);
    expect(() => split([1, 2, 3] as unknown as Key, 2)).toThrow(/key/);
    expect(() => foldIn(makeKey(0), -3)).toThrow(/data.*-3/);
    expect(() => split(makeKey(0), 1.5)).toThrow(/n.*1\.5/);
  });

  it("split and foldIn are deterministic and give distinct keys", () => {
    const key = makeKey(7);
    const a = split(key, 8);
    expect(split(key, 8)).toEqual(a);
    expect(split(key, 3)).toEqual(a.slice(0, 3));
    const folded = Array.from({ length: 8 }, (_, i) => foldIn(key, i));
    const all = new Set([...a, ...folded, key].map((k) => k.join(",")));
    expect(all.size).toBe(17);
    expect(foldIn(key, 2 ** 40)).not.toEqual(foldIn(key, 0));
  });

  it("separates domains: the same index gives different keys in different domains", () => {
    const key = makeKey(3);
    const seen = new Set(Object.values(Domain).map((d) => deriveKey(key, d, 0).join(",")));
    expect(seen.size).toBe(Object.values(Domain).length);
  });

  it("keys survive a JSON round trip", () => {
    const k = split(makeKey(123), 2)[1]!;
    const back = JSON.parse(JSON.stringify(k)) as Key;
    expect(back).toEqual(k);
    expect(randomBits(back, 9)).toEqual(randomBits(k, 9));
  });
});

describe("randomBits and BitReader", () => {
  it("a shorter request is a prefix of a longer one", () => {
    const key = makeKey(11);
    expect(randomBits(key, 5)).toEqual(randomBits(key, 12).slice(0, 5));
  });

  it("BitReader reads the same words as randomBits", () => {
    const key = makeKey(12);
    const reader = new BitReader(key);
    const got = Array.from({ length: 10 }, () => reader.next());
    expect(got).toEqual(Array.from(randomBits(key, 10)));
  });
});
