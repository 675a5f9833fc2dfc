import { describe, expect, it } from "vitest";
import {
  jointImageLabelDataset,
  jointImages,
  jointLabelScale,
  splitJointImages,
} from "../../src/data/joint-image.js";
import { loadDataset } from "../../src/data/registry.js";

describe("joint (image, label) data", () => {
  it("adds one +-1 channel per class and gets the labels back by argmax of the channel means", () => {
    const images = Float32Array.from({ length: 3 * 2 * 2 }, (_, i) => i / 12 - 0.5);
    const labels = Int32Array.from([2, 0, 1]);
    const joint = jointImages(images, labels, [1, 2, 2], 3);
    expect(joint.length).toBe(3 * 4 * 4);
    // Example 0: its image, then channels for classes 0, 1, 2 = -1, -1, +1.
    expect(Array.from(joint.subarray(0, 16))).toEqual([
      ...Array.from(images.subarray(0, 4)),
      -1,
      -1,
      -1,
      -1,
      -1,
      -1,
      -1,
      -1,
      1,
      1,
      1,
      1,
    ]);
    const back = splitJointImages(joint, [4, 2, 2], 1);
    expect(Array.from(back.images)).toEqual(Array.from(images));
    expect(Array.from(back.labels)).toEqual([2, 0, 1]);
    // Noisy label channels: the mean decides.
    const noisy = Float32Array.from(joint);
    noisy[4] = 5; // one pixel of class 0's channel of example 0
    expect(splitJointImages(noisy, [4, 2, 2], 1).labels[0]).toBe(2);
    noisy.fill(0.9, 4, 8);
    expect(splitJointImages(noisy, [4, 2, 2], 1).labels[0]).toBe(2);
    noisy.fill(2, 4, 8);
    expect(splitJointImages(noisy, [4, 2, 2], 1).labels[0]).toBe(0);
  });

  it("rejects bad labels and unlabelled data", () => {
    expect(() => jointImages(new Float32Array(4), Int32Array.from([3]), [1, 2, 2], 3)).toThrow(
      "label 3 of example 0 is outside [0, 3)",
    );
    expect(() =>
      jointImageLabelDataset({ kind: "image", name: "x", images: new Float32Array(4), shape: [1, 2, 2] }),
    ).toThrow("x: joint (image, label) data need labels");
  });

  it("loads mnist-joint as [11, 28, 28] with the labels", () => {
    const ds = loadDataset("mnist-joint", { limit: 3 });
    expect(ds.kind === "image" && ds.shape).toEqual([11, 28, 28]);
    if (ds.kind !== "image") return;
    const { labels } = splitJointImages(ds.images, ds.shape, 1);
    expect(Array.from(labels)).toEqual(Array.from(ds.labels!));
  });

  it("scales the label channels by 1 / sqrt(H W) for *-scaled data: the channel mean's noise is one scalar's", () => {
    expect(jointLabelScale("mnist-joint-scaled", 28, 28)).toBeCloseTo(1 / 28, 12);
    expect(jointLabelScale("mnist-joint", 28, 28)).toBe(1);
    expect(jointLabelScale(undefined, 28, 28)).toBe(1);
    const labels = Int32Array.from([1, 0]);
    const joint = jointImages(new Float32Array(2 * 4), labels, [1, 2, 2], 2, 0.5);
    expect(Array.from(joint.subarray(4, 12))).toEqual([-0.5, -0.5, -0.5, -0.5, 0.5, 0.5, 0.5, 0.5]);
    expect(Array.from(splitJointImages(joint, [3, 2, 2], 1).labels)).toEqual([1, 0]);
    expect(() => jointImages(new Float32Array(4), Int32Array.from([0]), [1, 2, 2], 2, 0)).toThrow(
      "labelScale 0, expected a finite number > 0",
    );
    const ds = loadDataset("mnist-joint-scaled", { limit: 2 });
    expect(ds.kind === "image" && ds.shape).toEqual([11, 28, 28]);
    if (ds.kind !== "image") return;
    const hw = 28 * 28;
    const y = ds.labels![0]!;
    // Example 0: label channel y is +1/28 everywhere, the others -1/28; the digit channel is unchanged.
    expect(ds.images[(1 + y) * hw + 5]).toBeCloseTo(1 / 28, 7);
    expect(ds.images[(1 + ((y + 1) % 10)) * hw]).toBeCloseTo(-1 / 28, 7);
    expect(Array.from(splitJointImages(ds.images, ds.shape, 1).labels)).toEqual(Array.from(ds.labels!));
    const plain = loadDataset("mnist", { limit: 1 });
    expect(plain.kind === "image" && Array.from(plain.images.subarray(0, hw))).toEqual(
      Array.from(ds.images.subarray(0, hw)),
    );
  });
});
