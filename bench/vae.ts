/**
 * `npm run bench` (second part): the AutoencoderKL training step (encode -> posterior sample ->
 * decode -> L1 + beta KL -> backward -> AdamW, one compiled ONNX graph: src/train/vae-objective.ts)
 * and encode / decode throughput at batch 16, for the train-vae presets (bench/configs/vae*.json),
 * next to the PyTorch baseline of the same config in plain torch (bench/vae_torch.py; diffusers is
 * not installed for Python here). Prints one JSON line per config.
 *
 *   npx tsx bench/vae.ts [--threads 2] [--batch 16] [--iters 5] [--warmup 2] [--no-torch] [configs...]
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { AutoencoderKL } from "../src/models/autoencoder-kl.js";
import { nodeOrt } from "../src/onnx/node.js";
import { makeKey, normal, uniform } from "../src/random/index.js";
import * as T from "../src/tensor/index.js";
import { initAdamW } from "../src/train/optim/adamw.js";
import { makeTrainStep, NO_EMA } from "../src/train/step.js";
import { drawVaeInputs, latentShapeOf, type VaeBatch, vaeLoss } from "../src/train/vae-objective.js";
import { medianMs, round1 } from "./machine.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    threads: { type: "string", default: "2" },
    batch: { type: "string", default: "16" },
    iters: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    "no-torch": { type: "boolean", default: false },
  },
});
const threads = Number(values.threads);
const B = Number(values.batch);
const iters = Number(values.iters);
const warmup = Number(values.warmup);
const here = import.meta.dirname;
const configs =
  positionals.length > 0
    ? positionals
    : readdirSync(join(here, "configs"))
        .filter((f) => f.startsWith("vae") && f.endsWith(".json"))
        .map((f) => join(here, "configs", f));

T.setDefaultRuntime(nodeOrt);

const median = async (fn: () => Promise<unknown>) => round1(await medianMs(fn, iters, warmup));

function torchBaseline(path: string): Record<string, number> | null {
  const script = join(here, "vae_torch.py");
  if (values["no-torch"] || !existsSync("/usr/bin/python3")) return null;
  try {
    const out = execFileSync(
      "/usr/bin/python3",
      [
        script,
        "--threads",
        String(threads),
        "--batch",
        String(B),
        "--iters",
        String(iters),
        "--warmup",
        String(warmup),
        path,
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    return JSON.parse(out.trim().split("\n").pop()!);
  } catch (e) {
    process.stderr.write(
      `torch baseline unavailable (apt-get install python3-torch): ${(e as Error).message.split("\n")[0]}\n`,
    );
    return null;
  }
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

for (const path of configs) {
  const cfg = JSON.parse(readFileSync(path, "utf8"));
  const vae = new AutoencoderKL(cfg, { seed: 0 });
  const params = vae.parameters();
  const S = cfg.sample_size as number;
  const shape = [B, cfg.in_channels as number, S, S];
  const x = Float32Array.from(uniform(makeKey(0), B * shape[1]! * S * S), (u) => 2 * u - 1);
  const batch: VaeBatch = drawVaeInputs(makeKey(1), x, shape, vae);
  const latent = latentShapeOf(vae, shape.slice(1));
  const z = T.tensor(normal(makeKey(2), B * latent[0] * latent[1] * latent[2]), [B, ...latent]);
  const step = T.compile(makeTrainStep(vaeLoss(vae, { reconstruction: "l1", beta: 1e-6 }), {}), { threads });
  let state = { params, opt: initAdamW(params) };
  const lr = T.scalar(1e-4);
  const train = async () => {
    const r = await step(state.params, state.opt, NO_EMA, batch, lr);
    state = { params: r.params, opt: r.optState };
  };
  const encode = T.compile((p: typeof params, v: T.Tensor) => vae.encode(p, v).mean, { threads });
  const decode = T.compile((p: typeof params, v: T.Tensor) => vae.decode(p, v), { threads });
  const res: Record<string, unknown> = {
    config: basename(path),
    batch: B,
    threads,
    params: vae.parameterCount(),
    train_step_ms: await median(train),
    encode_ms: await median(() => encode(params, batch.x)),
    decode_ms: await median(() => decode(params, z)),
  };
  res.encode_images_per_s = Math.round((B / (res.encode_ms as number)) * 1000);
  res.decode_images_per_s = Math.round((B / (res.decode_ms as number)) * 1000);
  const torch = torchBaseline(path);
  if (torch) {
    res.torch_train_step_ms = torch.train_step_ms;
    res.torch_encode_ms = torch.encode_ms;
    res.torch_decode_ms = torch.decode_ms;
    res.train_step_ratio = ratio(res.train_step_ms as number, torch.train_step_ms!);
    res.encode_ratio = ratio(res.encode_ms as number, torch.encode_ms!);
    res.decode_ratio = ratio(res.decode_ms as number, torch.decode_ms!);
  }
  console.log(JSON.stringify(res));
}
