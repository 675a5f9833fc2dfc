import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeKey, randomBits, randomBitsAt } from "../../src/random/philox.js";
import { normal, normalAt } from "../../src/random/sample.js";

describe("draws in pieces", () => {
  it("randomBitsAt(key, o, n) is randomBits(key, o + n) from word o", () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(60), fc.nat(60), (seed, o, n) => {
        const key = makeKey(seed);
        expect([...randomBitsAt(key, o, n)]).toEqual([...randomBits(key, o + n).subarray(o)]);
      }),
      { numRuns: 200 },
    );
  });

  it("normalAt(key, o, n) is normal(key, o + n) from value o, for odd and even ends", () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(41), fc.nat(41), (seed, o, n) => {
        const key = makeKey(seed);
        expect([...normalAt(key, o, n)]).toEqual([...normal(key, o + n).subarray(o)]);
      }),
      { numRuns: 300 },
    );
  });

  it("pieces concatenate to the whole draw (odd piece sizes included)", () => {
    const key = makeKey(7);
    const whole = normal(key, 3 * 7 * 5);
    const pieces = [0, 1, 2, 3, 4].map((b) => normalAt(key, b * 21, 21));
    expect(pieces.flatMap((p) => [...p])).toEqual([...whole]);
  });

  it("refuses a negative or fractional offset", () => {
    expect(() => normalAt(makeKey(1), -1, 4)).toThrow(/offset/);
    expect(() => randomBitsAt(makeKey(1), 1.5, 4)).toThrow(/offset/);
  });
});
