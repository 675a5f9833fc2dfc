/**
 * The README's editing pictures, from the trained MNIST models:
 *
 *   npm run editing-pictures -- [--uncond runs/mnist-uncond] [--cond runs/mnist] [--out docs]
 *
 * Writes
 *   editing-inversion.png      8 MNIST test digits (top) and their DDIM inversion + reconstruction,
 *                              50 steps, unconditional model (bottom);
 *   editing-class-swap.png     a test-set 3 (left), then `edit` to label 8 with guidance 3 at strength
 *                              0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0 (conditional model, dpmsolver++ 20 steps);
 *   editing-interpolation.png  slerp between two inverted test digits (top) and between the latents
 *                              of seeds 1 and 2 (bottom), 8 frames each, DDIM 50 steps.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadMnist } from "../src/data/mnist.js";
import { gaussianNoise } from "../src/diffusion/noise.js";
import { imageGrid } from "../src/io/image.js";
import { encodePng } from "../src/io/png.js";
import { nodeOrt } from "../src/onnx/node.js";
import { loadPipeline } from "../src/pipelines/pipeline-node.js";
import * as T from "../src/tensor/index.js";
import { setDefaultRuntime } from "../src/tensor/index.js";

const { values } = parseArgs({
  options: { uncond: { type: "string" }, cond: { type: "string" }, out: { type: "string" } },
});
setDefaultRuntime(nodeOrt);
const outDir = values.out ?? "docs";
mkdirSync(outDir, { recursive: true });
const quiet = { warn: () => {} };

function save(name: string, x: T.Tensor, nrow: number): void {
  const v = Float32Array.from(x.values() as Float32Array, (u) => Math.min(1, Math.max(-1, u)));
  const png = encodePng(imageGrid(v, x.shape as [number, number, number, number], { nrow }));
  writeFileSync(path.join(outDir, name), png);
  console.log(`${name}: ${x.shape[0]} images`);
}

const test = loadMnist({ split: "test", limit: 200 });
const digit = (i: number) => T.tensor(test.images.slice(i * 784, (i + 1) * 784), [1, 1, 28, 28]);
const uncond = await loadPipeline(values.uncond ?? "runs/mnist-uncond");
const cond = await loadPipeline(values.cond ?? "runs/mnist");

// 1. Inversion round trip.
const eight = T.concat(
  Array.from({ length: 8 }, (_, i) => digit(i)),
  0,
);
const xT = await uncond.invert(eight, { steps: 50, ...quiet });
const back = await uncond.reconstruct(xT, { steps: 50 });
save("editing-inversion.png", T.concat([eight, back.samples], 0), 8);

// 2. Class swap: a 3 regenerated as an 8.
const threeIndex = Array.from(test.labels!).indexOf(3);
const three = digit(threeIndex);
const strengths = [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
const swapped: T.Tensor[] = [three];
for (const strength of strengths) {
  const out = await cond.edit(three, { strength, labels: [8], guidanceScale: 3, steps: 20, seed: 0 });
  swapped.push(out.samples);
}
save("editing-class-swap.png", T.concat(swapped, 0), swapped.length);

// 3. Interpolation: two inverted digits, and two seeds.
const [a, b] = [digit(0), digit(1)];
const [la, lb] = [
  await uncond.invert(a, { steps: 50, ...quiet }),
  await uncond.invert(b, { steps: 50, ...quiet }),
];
const between = await uncond.interpolate(la, lb, { frames: 8, steps: 50 });
const seeds = await uncond.interpolate(gaussianNoise(1)([1, 1, 28, 28]), gaussianNoise(2)([1, 1, 28, 28]), {
  frames: 8,
  steps: 50,
});
save("editing-interpolation.png", T.concat([between.samples, seeds.samples], 0), 8);
