import { describe, expect, it } from "vitest";
import { makeKey, split } from "../../src/random/philox.js";
import { RngStream } from "../../src/random/stream.js";

describe("RngStream", () => {
  it("is deterministic and hands out distinct keys, none equal to split() keys", () => {
    const a = new RngStream(makeKey(5));
    const b = new RngStream(makeKey(5));
    const ka = Array.from({ length: 16 }, () => a.next());
    expect(Array.from({ length: 16 }, () => b.next())).toEqual(ka);
    const seen = new Set([...ka, ...split(makeKey(5), 16)].map((k) => k.join(",")));
    expect(seen.size).toBe(32);
  });

  it("state survives JSON and continues identically", () => {
    const s = new RngStream(makeKey(9));
    for (let i = 0; i < 5; i++) s.next();
    const saved = JSON.stringify(s.state());
    const expected = Array.from({ length: 4 }, () => s.next());
    const resumed = RngStream.fromState(JSON.parse(saved));
    expect(Array.from({ length: 4 }, () => resumed.next())).toEqual(expected);
    expect(resumed.state()).toEqual(s.state());
  });

  it("fromState rejects malformed state naming the field", () => {
    expect(() => RngStream.fromState(null)).toThrow(/state/);
    expect(() => RngStream.fromState({ key: [1], counter: 0 })).toThrow(/state\.key/);
    expect(() => RngStream.fromState({ key: [1, 2], counter: -1 })).toThrow(/state\.counter.*-1/);
    expect(() => RngStream.fromState({ key: [1, 2], counter: "3" })).toThrow(/state\.counter/);
  });
});
