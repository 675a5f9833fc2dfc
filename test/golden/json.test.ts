import { describe, expect, it } from "vitest";
import { parsePythonJson } from "../../src/golden/json.js";

describe("parsePythonJson", () => {
  it("reads Python's NaN, Infinity and -Infinity outside strings, and leaves strings alone", () => {
    const text =
      '{"a": [NaN, 1, -Infinity, Infinity], "s": "NaN and -Infinity \\" NaN", "lambda_min_clipped": -Infinity}';
    expect(parsePythonJson(text)).toEqual({
      a: [Number.NaN, 1, -Infinity, Infinity],
      s: 'NaN and -Infinity " NaN',
      lambda_min_clipped: -Infinity,
    });
  });

  it("is JSON.parse for standard JSON", () => {
    expect(parsePythonJson('{"x": [1.5e-7, "Infinity"]}')).toEqual({ x: [1.5e-7, "Infinity"] });
    expect(() => parsePythonJson("{nope}")).toThrow();
  });
});
