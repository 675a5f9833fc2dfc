import { describe, expect, it } from "vitest";
import { accuracy, classAccuracy, inceptionScore, softmaxRows } from "../../src/eval/classifier.js";
import { fromRows } from "../../src/eval/matrix.js";

const confident = (k: number, cls: number[]) =>
  fromRows(cls.map((c) => Array.from({ length: k }, (_, j) => (j === c ? 50 : 0))));

describe("classifier metrics", () => {
  it("softmax rows sum to 1 and are stable for large logits", () => {
    const p = softmaxRows(
      fromRows([
        [1000, 1001],
        [0, 0],
      ]),
    );
    expect(p.data[0]! + p.data[1]!).toBeCloseTo(1, 15);
    expect(p.data[1]).toBeCloseTo(1 / (1 + Math.exp(-1)), 14);
    expect(p.data[2]).toBe(0.5);
  });

  it("accuracy against requested labels, per class", () => {
    const logits = confident(3, [0, 1, 2, 2]);
    expect(accuracy(logits, [0, 1, 2, 1])).toBe(0.75);
    expect(classAccuracy(logits, [0, 1, 2, 1]).perClass).toEqual([1, 0.5, 1]);
    expect(() => accuracy(logits, [0])).toThrow(/labels: got 1, expected one per sample \(4\)/);
  });

  it("IS is K for confident predictions spread evenly and 1 for one class", () => {
    const k = 10;
    const spread = confident(
      k,
      Array.from({ length: 100 }, (_, i) => i % k),
    );
    expect(inceptionScore(spread, 1).mean).toBeCloseTo(k, 6);
    expect(inceptionScore(confident(k, new Array(100).fill(3)), 1).mean).toBeCloseTo(1, 6);
    const split = inceptionScore(spread, 10);
    expect(split.splits).toBe(10);
    expect(split.mean).toBeCloseTo(k, 6);
    expect(split.std).toBeLessThan(1e-6);
  });

  it("IS is 1 for uninformative (uniform) predictions", () => {
    expect(
      inceptionScore(
        fromRows([
          [0, 0, 0],
          [1, 1, 1],
        ]),
        1,
      ).mean,
    ).toBeCloseTo(1, 14);
  });
});
