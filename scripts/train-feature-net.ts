/**
 * Trains the feature nets of the sample-quality metrics (src/eval/feature-net.ts) with a fixed seed
 * and writes them to assets/feature-nets/<dataset>/ (config.json + model.safetensors):
 *
 *   npx tsx scripts/train-feature-net.ts [--dataset mnist|fashion-mnist|all] [--epochs N] [--seed S]
 *                                        [--out DIR] [--threads N]
 *
 * Recipe: cross-entropy, AdamW (lr 5e-3, weight decay 5e-4), cosine schedule with a 100-step warm-up,
 * batch 128, 4 epochs, gradient norm clipped at 1; MNIST: random shifts of up to 2 pixels
 * (background-filled); Fashion-MNIST: random left-right flips. The whole step (forward, backward,
 * clipping, AdamW) is one compiled ONNX graph. Prints test accuracy and timings as JSON lines.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { DataLoader, type ImageDataset, loadDataset } from "../src/data/index.js";
import { accuracy } from "../src/eval/classifier.js";
import { extractFeatures } from "../src/eval/extract.js";
import { crossEntropy, DEFAULT_FEATURE_NET_CONFIG, FeatureNet } from "../src/eval/feature-net.js";
import { FEATURE_NETS_DIR, saveFeatureNet } from "../src/eval/feature-net-node.js";
import type { Params } from "../src/nn/module.js";
import { nodeOrt } from "../src/onnx/node.js";
import { foldIn, makeKey, randint, split } from "../src/random/index.js";
import * as T from "../src/tensor/index.js";
import { initAdamW } from "../src/train/optim/adamw.js";
import { lrSchedule } from "../src/train/optim/lr-schedule.js";
import { makeTrainStep, NO_EMA } from "../src/train/step.js";

const RECIPE = { batchSize: 128, lr: 5e-3, weightDecay: 5e-4, warmupSteps: 100, maxGradNorm: 1 };
const DEFAULT_EPOCHS: Record<string, number> = { mnist: 4, "fashion-mnist": 4 };
/** Augmentations: digits shift (not flip); clothes flip left-right (and are centred: no shift). */
const AUGMENT: Record<string, { shift: number; hflip: boolean }> = {
  mnist: { shift: 2, hflip: false },
  "fashion-mnist": { shift: 0, hflip: true },
};

/**
 * Shifts each size x size image by (dy, dx) in [-shift, shift] (filling with the background value -1)
 * and, with `hflip`, mirrors it left-right with probability 1/2.
 */
function augment(
  x: Float32Array,
  n: number,
  size: number,
  a: { shift: number; hflip: boolean },
  seed: number,
) {
  const [shiftKey, flipKey] = split(makeKey(seed));
  const d = randint(shiftKey!, 2 * n, -a.shift, a.shift + 1);
  const flips = randint(flipKey!, n, 0, 2);
  const out = new Float32Array(x.length).fill(-1);
  const per = size * size;
  for (let i = 0; i < n; i++) {
    const [dy, dx] = [d[2 * i]!, d[2 * i + 1]!];
    const flip = a.hflip && flips[i] === 1;
    for (let r = Math.max(0, dy); r < Math.min(size, size + dy); r++) {
      for (let c = Math.max(0, dx); c < Math.min(size, size + dx); c++) {
        const sc = c - dx;
        out[i * per + r * size + (flip ? size - 1 - c : c)] = x[i * per + (r - dy) * size + sc]!;
      }
    }
  }
  return out;
}

async function trainOne(dataset: string, epochs: number, seed: number, outDir: string, threads: number) {
  const train = loadDataset(dataset, { split: "train" }) as ImageDataset;
  const test = loadDataset(dataset, { split: "test" }) as ImageDataset;
  const net = new FeatureNet({ ...DEFAULT_FEATURE_NET_CONFIG });
  let params: Params = net.initParameters(makeKey(seed));
  let optState = initAdamW(params);
  type Batch = { x: T.Tensor; y: T.Tensor };
  const loss = (p: Params, b: Batch) => crossEntropy(net.logits(p, b.x), b.y);
  const step = T.compile(
    makeTrainStep(loss, {
      optimizer: { weightDecay: RECIPE.weightDecay },
      maxGradNorm: RECIPE.maxGradNorm,
    }),
    { threads },
  );
  const loader = new DataLoader(train, { seed });
  const stepsPerEpoch = Math.floor(loader.size / RECIPE.batchSize);
  const totalSteps = epochs * stepsPerEpoch;
  const lr = lrSchedule({ kind: "cosine", lr: RECIPE.lr, warmupSteps: RECIPE.warmupSteps, totalSteps });
  const t0 = performance.now();
  let k = 0;
  let running = 0;
  for (let e = 0; e < epochs; e++) {
    for (const b of loader.batches(RECIPE.batchSize)) {
      const n = b.shape[0]!;
      const x = augment(
        b.x,
        n,
        28,
        AUGMENT[dataset] ?? { shift: 0, hflip: false },
        foldIn(makeKey(seed), k)[0],
      );
      const out = await step(
        params,
        optState,
        NO_EMA,
        { x: T.tensor(x, b.shape), y: T.tensor(b.labels!, [n], "int32") },
        T.scalar(lr(k)),
      );
      params = out.params;
      optState = out.optState;
      running = k === 0 ? out.loss.item() : 0.98 * running + 0.02 * out.loss.item();
      k++;
      if (k % 100 === 0) {
        const s = ((performance.now() - t0) / 1000).toFixed(1);
        process.stderr.write(
          `${dataset} epoch ${e} step ${k}/${totalSteps} loss ${running.toFixed(4)} ${s}s\n`,
        );
      }
    }
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const { logits } = await extractFeatures(net, params, test.images, { batchSize: 500, threads });
  const testAccuracy = accuracy(logits, test.labels!);
  const config = {
    ...net.toConfig(),
    dataset,
    class_names: train.classNames,
    training: {
      script: "scripts/train-feature-net.ts",
      seed,
      epochs,
      steps: totalSteps,
      ...RECIPE,
      augment: AUGMENT[dataset],
      test_accuracy: Number(testAccuracy.toFixed(4)),
    },
  };
  const trained = new FeatureNet(config);
  const dir = path.join(outDir, dataset);
  await saveFeatureNet(dir, trained, params);
  const result = {
    dataset,
    testAccuracy,
    trainSeconds: Number(trainSeconds.toFixed(1)),
    steps: totalSteps,
    dir,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dataset: { type: "string", default: "all" },
      epochs: { type: "string" },
      seed: { type: "string", default: "0" },
      out: { type: "string", default: FEATURE_NETS_DIR },
      threads: { type: "string", default: "2" },
    },
  });
  const datasets = values.dataset === "all" ? ["mnist", "fashion-mnist"] : [values.dataset!];
  T.setDefaultRuntime(nodeOrt);
  for (const ds of datasets) {
    const epochs = values.epochs ? Number(values.epochs) : (DEFAULT_EPOCHS[ds] ?? 3);
    await trainOne(ds, epochs, Number(values.seed), values.out!, Number(values.threads));
  }
}

await main();
