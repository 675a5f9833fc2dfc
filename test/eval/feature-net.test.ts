import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ImageDataset, loadDataset } from "../../src/data/index.js";
import { accuracy } from "../../src/eval/classifier.js";
import { extractFeatures } from "../../src/eval/extract.js";
import { DEFAULT_FEATURE_NET_CONFIG, FeatureNet, parseFeatureNetConfig } from "../../src/eval/feature-net.js";
import {
  FEATURE_NET_WEIGHTS_FILE,
  featureNetDir,
  loadFeatureNet,
  saveFeatureNet,
} from "../../src/eval/feature-net-node.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { FASHION_MNIST, requirePackage } from "../optional-packages.js";

beforeAll(() => T.setDefaultRuntime(nodeOrt));
const tmp = mkdtempSync(path.join(tmpdir(), "diffuse-fnet-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("shipped feature nets", () => {
  const cases: [string, number][] = [
    ["mnist", 0.99],
    ["fashion-mnist", 0.9],
  ];
  for (const [dataset, floor] of cases) {
    it(`${dataset}: loads from assets, about 1 MB, and classifies 1000 test images with accuracy >= ${floor}`, async (ctx) => {
      if (dataset === "fashion-mnist") requirePackage(ctx, FASHION_MNIST);
      const { net, params } = await loadFeatureNet(dataset);
      expect(statSync(path.join(featureNetDir(dataset), FEATURE_NET_WEIGHTS_FILE)).size).toBeLessThan(1.1e6);
      const test = loadDataset(dataset, { split: "test", limit: 1000 }) as ImageDataset;
      const { features, logits } = await extractFeatures(net, params, test.images, { batchSize: 250 });
      expect([features.rows, features.cols]).toEqual([1000, 128]);
      expect(accuracy(logits, test.labels!)).toBeGreaterThanOrEqual(floor);
    });
  }

  it("compiled features equal eager features, and a padded last batch changes nothing", async () => {
    const { net, params } = await loadFeatureNet("mnist");
    const test = loadDataset("mnist", { split: "test", limit: 5 }) as ImageDataset;
    const eager = net.features(params, T.tensor(test.images, [5, 1, 28, 28])).values();
    const compiled = (await extractFeatures(net, params, test.images, { batchSize: 3 })).features.data;
    for (let i = 0; i < eager.length; i++) expect(compiled[i]).toBeCloseTo(eager[i]!, 4);
  });

  it("rejects an unknown dataset, listing the known ones", async () => {
    await expect(loadFeatureNet("cifar10")).rejects.toThrow(
      /no feature net for "cifar10"; expected one of mnist, fashion-mnist/,
    );
  });
});

describe("feature net module", () => {
  it("save -> load round trip keeps config and weights", async () => {
    const net = new FeatureNet({
      ...DEFAULT_FEATURE_NET_CONFIG,
      channels: [8, 8],
      strides: [2, 2],
      feature_dim: 16,
    });
    const params = net.initParameters(makeKey(1));
    await saveFeatureNet(tmp, net, params);
    const back = await loadFeatureNet(tmp);
    expect(back.net.config.channels).toEqual([8, 8]);
    expect([...back.params["fc.weight"]!.values()]).toEqual([...params["fc.weight"]!.values()]);
  });

  it("both pooling heads give [N, feature_dim] features and [N, num_classes] logits", () => {
    for (const pool of ["flatten", "mean"] as const) {
      const net = new FeatureNet({
        ...DEFAULT_FEATURE_NET_CONFIG,
        channels: [8, 8, 8],
        strides: [1, 2, 2],
        pool,
      });
      expect(net.finalSide()).toBe(7);
      const { features, logits } = net.forward(net.parameters(), T.zeros([2, 1, 28, 28]));
      expect([features.shape, logits.shape]).toEqual([
        [2, 128],
        [2, 10],
      ]);
    }
  });

  it("config errors name the field, the value and what was expected", () => {
    const base = { ...DEFAULT_FEATURE_NET_CONFIG };
    expect(() => parseFeatureNetConfig({ ...base, channels: [32, 0] })).toThrow(
      /field "channels" is \[32,0\]; expected a non-empty list of positive integers/,
    );
    expect(() => parseFeatureNetConfig({ ...base, strides: [1, 2] })).toThrow(
      /field "strides" .* expected 4 entries/,
    );
    expect(() => parseFeatureNetConfig({ ...base, pool: "max" as "mean" })).toThrow(
      /field "pool" is "max"; expected one of flatten, mean/,
    );
    expect(() => parseFeatureNetConfig({ ...base, _class_name: "UNet2DModel" })).toThrow(
      /"_class_name" is "UNet2DModel"/,
    );
  });

  it("input of the wrong shape is rejected with the expected shape", () => {
    const net = new FeatureNet();
    expect(() => net.features(net.parameters(), T.zeros([2, 1, 32, 32]))).toThrow(
      /input has shape \[2, 1, 32, 32\], expected \[N, 1, 28, 28\]/,
    );
  });
});
