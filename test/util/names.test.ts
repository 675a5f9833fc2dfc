import { describe, expect, it } from "vitest";
import { closestName, didYouMean, editDistance } from "../../src/util/names.js";
import { setWarn, warn } from "../../src/util/warn.js";

describe("names", () => {
  it("edit distance", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("hiden_size", "hidden_size")).toBe(1);
  });
  it("closest name only when close", () => {
    expect(closestName("clip_smaple", ["clip_sample", "beta_end"])).toBe("clip_sample");
    expect(closestName("zzzz", ["clip_sample", "beta_end"])).toBeUndefined();
    expect(didYouMean("hiden_size", ["hidden_size"])).toBe('; did you mean "hidden_size"?');
    expect(didYouMean("qqq", ["hidden_size"])).toBe("");
  });
});

describe("warn", () => {
  it("goes to the injected sink, and back to console.warn", () => {
    const got: string[] = [];
    const prev = setWarn((m) => got.push(m));
    warn("a");
    warn("b", (m) => got.push(`direct ${m}`));
    setWarn(prev);
    expect(got).toEqual(["a", "direct b"]);
  });
});
