import { describe, expect, it } from "vitest";
import { jointImageLabelDataset, jointImages, splitJointImages } from "../../src/data/joint-image.js";
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
});
