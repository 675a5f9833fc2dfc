import { afterAll, describe, expect, it } from "vitest";
import { loadFashionMnist, loadMnist, type Split } from "../../src/data/mnist.js";
import { FASHION_MNIST, requirePackage } from "../optional-packages.js";
import { expectValidDataset, removeTempDirs, tempDir } from "./helpers.js";

afterAll(removeTempDirs);

describe("mnist", () => {
  it.each(["train", "test"] as const)(
    "loads the %s split as [N, 1, 28, 28] in [-1, 1] with digit labels",
    (split) => {
      const ds = loadMnist({ split, limit: 64 });
      expect(ds.shape).toEqual([1, 28, 28]);
      expect(ds.numClasses).toBe(10);
      expectValidDataset(ds, 64);
      expect(Math.min(...ds.images)).toBe(-1);
      expect(Math.max(...ds.images)).toBe(1);
      expect(new Set(ds.labels).size).toBeGreaterThan(5);
    },
  );

  it("train and test differ; a limit is a prefix of a larger limit", () => {
    const a = loadMnist({ split: "train", limit: 4 });
    const b = loadMnist({ split: "test", limit: 4 });
    expect(a.images).not.toEqual(b.images);
    expect(loadMnist({ limit: 8 }).images.subarray(0, a.images.length)).toEqual(a.images);
  });

  it("rejects a bad split and a bad limit", () => {
    expect(() => loadMnist({ split: "valid" as Split })).toThrow(/split.*"valid"/);
    expect(() => loadMnist({ limit: 0 })).toThrow(/limit.*0/);
  });
});

describe("fashion-mnist", () => {
  it("explains how to install the files when they are missing", () => {
    const empty = tempDir("fmnist-");
    expect(() => loadFashionMnist({ dir: empty })).toThrow(/apt-get install dataset-fashion-mnist/);
    expect(() => loadFashionMnist({ dir: empty, split: "test" })).toThrow(
      /t10k-images-idx3-ubyte\.gz not found/,
    );
  });

  it("loads gzipped IDX files with the 10 clothing classes", (ctx) => {
    requirePackage(ctx, FASHION_MNIST);
    const ds = loadFashionMnist({ split: "test", limit: 32 });
    expect(ds.shape).toEqual([1, 28, 28]);
    expect(ds.classNames).toHaveLength(10);
    expectValidDataset(ds, 32);
    expect(loadFashionMnist({ split: "train", limit: 32 }).images).not.toEqual(ds.images);
  });
});
