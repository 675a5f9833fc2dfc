import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DATASET_NAMES, loadDataset } from "../../src/data/registry.js";
import { datasetSize } from "../../src/data/types.js";
import { encodePng } from "../../src/io/png.js";
import { removeTempDirs, tempDir } from "./helpers.js";

afterAll(removeTempDirs);

describe("loadDataset", () => {
  it("rejects an unknown name, listing every valid one", () => {
    let message = "";
    try {
      loadDataset("cifar10");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('"cifar10"');
    for (const name of DATASET_NAMES) expect(message).toContain(name);
  });

  it("loads the packaged datasets by name", () => {
    const mnist = loadDataset("mnist", { split: "test", limit: 3 });
    expect(mnist.kind === "image" && mnist.shape).toEqual([1, 28, 28]);
    expect(datasetSize(mnist)).toBe(3);
    expect(datasetSize(loadDataset("twemoji", { limit: 2, size: 8 }))).toBe(2);
    expect(datasetSize(loadDataset("zipcodes", { limit: 5 }))).toBe(5);
  });

  it("generates toy sets from seed and n (limit caps n)", () => {
    for (const name of ["moons", "swissroll", "checkerboard", "gaussians"]) {
      const a = loadDataset(name, { seed: 3, n: 50 });
      expect(datasetSize(a)).toBe(50);
      expect(loadDataset(name, { seed: 3, n: 50 })).toEqual(a);
      expect(loadDataset(name, { seed: 4, n: 50 })).not.toEqual(a);
      expect(datasetSize(loadDataset(name, { n: 50, limit: 7 }))).toBe(7);
    }
  });

  it("takes user paths after folder: and csv:, or from opts.path", () => {
    const dir = tempDir("reg-");
    writeFileSync(join(dir, "t.csv"), "a,b\n1,2\n3,4\n");
    writeFileSync(
      join(dir, "i.png"),
      encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(4) }),
    );
    expect(datasetSize(loadDataset(`csv:${join(dir, "t.csv")}`))).toBe(2);
    expect(datasetSize(loadDataset("csv", { path: join(dir, "t.csv") }))).toBe(2);
    const img = loadDataset(`folder:${dir}`, { size: 4, channels: 1 });
    expect(img.kind === "image" && img.shape).toEqual([1, 4, 4]);
    expect(() => loadDataset("csv:")).toThrow(/csv:: expected a path/);
  });
});
