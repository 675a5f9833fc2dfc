import { describe, expect, it } from "vitest";
import { type Batch, DataLoader } from "../../src/data/loader.js";
import { identityNormalization } from "../../src/data/normalize.js";
import type { ImageDataset, VectorDataset } from "../../src/data/types.js";

/** 10 examples of dim 3 whose values encode their index: row i = [i, i + 0.1, i + 0.2]. */
function table(n = 10): VectorDataset {
  const data = Float32Array.from({ length: n * 3 }, (_, k) => Math.floor(k / 3) + (k % 3) / 10);
  return {
    name: "t",
    kind: "table",
    data,
    dim: 3,
    normalization: identityNormalization(3),
    labels: Int32Array.from({ length: n }, (_, i) => i % 4),
    numClasses: 4,
  };
}

const ids = (batches: Batch[]) => batches.flatMap((b) => Array.from(b.indices));

describe("DataLoader", () => {
  it("visits every example once per epoch, in a seed- and epoch-dependent order", () => {
    const dl = new DataLoader(table(), { seed: 1, dropLast: false });
    const e0 = [...dl.batches(4)];
    expect(e0.map((b) => b.shape)).toEqual([
      [4, 3],
      [4, 3],
      [2, 3],
    ]);
    expect(ids(e0).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(dl.position()).toEqual({ epoch: 1, index: 0 });
    const e1 = ids([...dl.batches(4)]);
    expect(e1).not.toEqual(ids(e0));
    expect(ids([...new DataLoader(table(), { seed: 1, dropLast: false }).batches(4)])).toEqual(ids(e0));
    expect(ids([...new DataLoader(table(), { seed: 2, dropLast: false }).batches(4)])).not.toEqual(ids(e0));
  });

  it("gathers rows and labels of the listed indices", () => {
    const ds = table();
    const b = new DataLoader(ds, { seed: 3 }).next(5);
    b.indices.forEach((k, i) => {
      expect(Array.from(b.x.subarray(3 * i, 3 * i + 3))).toEqual(
        Array.from(ds.data.subarray(3 * k, 3 * k + 3)),
      );
      expect(b.labels![i]).toBe(ds.labels![k]);
    });
  });

  it("drops the incomplete last batch by default and rolls into the next epoch", () => {
    const dl = new DataLoader(table(), { seed: 0 });
    const epochs = Array.from({ length: 7 }, () => dl.next(4)).map((b) => [b.epoch, b.indices.length]);
    expect(epochs).toEqual([
      [0, 4],
      [0, 4],
      [1, 4],
      [1, 4],
      [2, 4],
      [2, 4],
      [3, 4],
    ]);
  });

  it("resumes exactly from a saved position, through JSON", () => {
    const full = new DataLoader(table(), { seed: 9 });
    const all = Array.from({ length: 9 }, () => full.next(3));
    const first = new DataLoader(table(), { seed: 9 });
    for (let i = 0; i < 4; i++) first.next(3);
    const saved = JSON.parse(JSON.stringify(first.position()));
    const resumed = new DataLoader(table(), { seed: 9, position: saved });
    const rest = Array.from({ length: 5 }, () => resumed.next(3));
    expect(rest).toEqual(all.slice(4));
  });

  it("a position saved inside a batches() loop resumes with the following batch", () => {
    const dl = new DataLoader(table(), { seed: 4, dropLast: false });
    const seen: Batch[] = [];
    let saved = dl.position();
    for (const b of dl.batches(3)) {
      seen.push(b);
      if (seen.length === 2) saved = dl.position();
    }
    expect(saved).toEqual({ epoch: 0, index: 6 });
    const resumed = new DataLoader(table(), { seed: 4, dropLast: false, position: saved });
    expect([...resumed.batches(3)]).toEqual(seen.slice(2));
  });

  it("keeps image shapes and visits in dataset order without shuffle", () => {
    const images: ImageDataset = {
      name: "im",
      kind: "image",
      images: new Float32Array(5 * 2 * 2 * 2),
      shape: [2, 2, 2],
    };
    const dl = new DataLoader(images, { shuffle: false });
    const b = dl.next(2);
    expect(b.shape).toEqual([2, 2, 2, 2]);
    expect(Array.from(b.indices)).toEqual([0, 1]);
    expect(b.labels).toBeUndefined();
  });

  it("rejects bad batch sizes and positions", () => {
    expect(() => new DataLoader(table()).next(11)).toThrow(/batchSize: 11 exceeds the 10 examples/);
    expect(() => new DataLoader(table()).next(0)).toThrow(/batchSize.*0/);
    expect(() => new DataLoader(table(), { position: { epoch: -1, index: 0 } })).toThrow(
      /position\.epoch.*-1/,
    );
    expect(() => new DataLoader(table(), { position: { epoch: 0, index: 11 } })).toThrow(
      /position\.index.*11/,
    );
    expect(() => new DataLoader(table(0))).toThrow(/no examples/);
  });
});
