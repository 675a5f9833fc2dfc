/**
 * Copies a trained model folder into the playground's model folder (web/model), with its weights
 * stored as float16 to halve the download (the network still computes in float32; every test and
 * the page load these same rounded weights, so their outputs agree exactly as before):
 *
 *   npx tsx scripts/web-model.ts [SRC=runs/mnist] [DEST=web/model]
 *
 * SRC is a pipeline folder as `npx diffuse train` writes it (model_index.json, unet/, scheduler/).
 * The shipped web/model is the README's class-conditional MNIST model (`npx diffuse train`, no flags).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseSafetensors, type StTensor, serializeSafetensors } from "../src/io/safetensors.js";
import { float32Tensor, tensorToFloat32 } from "../src/io/safetensors_convert.js";

const src = process.argv[2] ?? "runs/mnist";
const dest = process.argv[3] ?? "web/model";
const weights = "diffusion_pytorch_model.safetensors";

for (const sub of ["unet", "scheduler"]) mkdirSync(path.join(dest, sub), { recursive: true });
copyFileSync(path.join(src, "model_index.json"), path.join(dest, "model_index.json"));
copyFileSync(path.join(src, "unet", "config.json"), path.join(dest, "unet", "config.json"));
copyFileSync(
  path.join(src, "scheduler", "scheduler_config.json"),
  path.join(dest, "scheduler", "scheduler_config.json"),
);
const parsed = parseSafetensors(new Uint8Array(readFileSync(path.join(src, "unet", weights))));
const half = new Map<string, StTensor>();
let worst = 0;
for (const [name, t] of parsed.tensors) {
  const values = tensorToFloat32(t);
  const h = float32Tensor(values, [...t.shape], "F16");
  const back = tensorToFloat32(h);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(back[i]!)) throw new Error(`${name}[${i}] = ${values[i]} does not fit float16`);
    worst = Math.max(worst, Math.abs(back[i]! - values[i]!));
  }
  half.set(name, h);
}
const bytes = serializeSafetensors(half, { ...parsed.metadata, format: "pt" });
writeFileSync(path.join(dest, "unet", weights), bytes);
console.log(
  JSON.stringify({ src, dest, tensors: half.size, bytes: bytes.length, worstRoundingError: worst }),
);
