import { describe, expect, it } from "vitest";
import { decodeRows, encodeRows, inferSchema } from "../../src/data/table-schema.js";
import { imputeKnn, imputeMeanMode, scoreImputation } from "../../src/eval/impute-baselines.js";

// Two clusters: small & red, large & blue; one "odd" row in each cluster's size range.
const NAMES = ["size", "colour", "weight"];
const TRAIN = [
  ["1", "red", "10"],
  ["1.2", "red", "11"],
  ["0.8", "red", "9"],
  ["9", "blue", "90"],
  ["9.5", "blue", "95"],
  ["10", "blue", "100"],
  ["10.5", "blue", "105"],
];
const schema = inferSchema(NAMES, TRAIN);
const train = encodeRows(schema, TRAIN).data;

describe("imputation baselines", () => {
  it("mean/mode fills the column mean and the most frequent category, keeping present cells", () => {
    const rows = encodeRows(schema, [
      ["", "", "10"],
      ["5", "red", ""],
    ]);
    const out = decodeRows(schema, imputeMeanMode(schema, train, rows));
    const meanSize = TRAIN.reduce((s, r) => s + Number(r[0]), 0) / TRAIN.length;
    expect(Number(out[0]![0])).toBeCloseTo(meanSize, 4);
    expect(out[0]![1]).toBe("blue"); // 4 blue against 3 red
    expect(out[0]![2]).toBe("10");
    expect(out[1]!.slice(0, 2)).toEqual(["5", "red"]);
    const meanWeight = TRAIN.reduce((s, r) => s + Number(r[2]), 0) / TRAIN.length;
    expect(Number(out[1]![2])).toBeCloseTo(meanWeight, 3);
  });

  it("kNN uses the present columns only", () => {
    const rows = encodeRows(schema, [
      ["1.1", "", ""], // near the red cluster by size
      ["", "blue", "98"], // near the blue rows by colour and weight
    ]);
    const out = decodeRows(schema, imputeKnn(schema, train, rows, 2));
    expect(out[0]![1]).toBe("red");
    // The two nearest by size are 1.2 and 1 (weights 11, 10).
    expect(Number(out[0]![2])).toBeCloseTo(10.5, 4);
    // Nearest by (blue, weight 98): 100 and 95.
    expect(Number(out[1]![0])).toBeCloseTo((10 + 9.5) / 2, 4);
    expect(out[1]!.slice(1)).toEqual(["blue", "98"]);
    expect(() => imputeKnn(schema, train, rows, 0)).toThrow("k: expected a positive integer, got 0");
  });

  it("scores RMSE on hidden numeric cells and accuracy on hidden categorical cells", () => {
    const truth = encodeRows(schema, [["1", "red", "10"]]).data;
    const masked = encodeRows(schema, [["", "", "10"]]);
    const filled = encodeRows(schema, [["1", "blue", "10"]]).data;
    const s = scoreImputation(schema, truth, filled, masked.known);
    expect(s).toEqual({ rmse: 0, accuracy: 0, numericCells: 1, categoricalCells: 1 });
    const knn = scoreImputation(schema, truth, imputeKnn(schema, train, masked, 3), masked.known);
    const mean = scoreImputation(schema, truth, imputeMeanMode(schema, train, masked), masked.known);
    expect(knn.accuracy).toBe(1);
    expect(knn.rmse).toBeLessThan(mean.rmse / 5);
  });
});
