/**
 * Reconstructions of held-out images by a trained autoencoder (posterior mean, then decode), written
 * as a samples file for `diffuse eval --samples` (FID of the reconstructions against the test set):
 *
 *   npx tsx scripts/vae-reconstructions.ts VAE_DIR DATASET N OUT.safetensors
 *
 * mnist / fashion-mnist: the first N test images; other datasets: the first N images.
 */
import { loadDataset } from "../src/data/registry.js";
import { writeSafetensorsFile } from "../src/io/files.js";
import { loadPretrainedAs } from "../src/models/pretrained-node.js";
import type { Params } from "../src/nn/module.js";
import { nodeOrt } from "../src/onnx/node.js";
import * as T from "../src/tensor/index.js";
import { psnr } from "../src/train/vae-objective.js";

T.setDefaultRuntime(nodeOrt);
const [dir, dataset, nArg, out] = process.argv.slice(2);
if (!dir || !dataset || !nArg || !out) {
  process.stderr.write("usage: npx tsx scripts/vae-reconstructions.ts VAE_DIR DATASET N OUT.safetensors\n");
  process.exit(2);
}
const n = Number(nArg);
const split = dataset === "mnist" || dataset === "fashion-mnist" ? { split: "test" as const } : {};
const ds = loadDataset(dataset, { ...split, limit: n });
if (ds.kind !== "image") throw new Error(`${dataset}: not images`);
const vae = await loadPretrainedAs(dir, "AutoencoderKL");
const params = vae.parameters();
const recon = T.compile((p: Params, x: T.Tensor) => vae.forward(p, x));
const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
const count = ds.images.length / per;
const y = new Float32Array(count * per);
for (let i = 0; i < count; i += 64) {
  const b = Math.min(64, count - i);
  const x = T.tensor(ds.images.subarray(i * per, (i + b) * per), [b, ...ds.shape]);
  y.set((await recon(params, x)).values() as Float32Array, i * per);
}
let sq = 0;
for (let i = 0; i < y.length; i++) {
  y[i] = Math.min(1, Math.max(-1, y[i]!));
  sq += (y[i]! - ds.images[i]!) ** 2;
}
await writeSafetensorsFile(out, {
  samples: { dtype: "F32", shape: [count, ...ds.shape], data: y },
  ...(ds.labels ? { labels: { dtype: "I32", shape: [count], data: ds.labels } } : {}),
});
console.log(JSON.stringify({ out, images: count, mse: sq / y.length, psnr: psnr(sq / y.length) }));
