/**
 * `npm run bench`: the UNet2D training step (forward, MSE on an epsilon target, backward, AdamW; one
 * compiled ONNX graph) and one forward pass (a sampling step), for each config of the shared benchmark
 * (../shared/bench/configs), next to the PyTorch baseline (../shared/bench/torch_bench.py, run in the same
 * invocation when Debian's python3-torch is installed). Prints one JSON line per config.
 *
 *   npm run bench -- [--threads 2] [--batch 16] [--iters 5] [--warmup 2] [--no-torch] [configs...]
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { UNet2DModel } from "../src/models/unet2d.js";
import { nodeOrt } from "../src/onnx/node.js";
import { makeKey, normal, randint } from "../src/random/index.js";
import * as T from "../src/tensor/index.js";
import { initAdamW } from "../src/train/optim/adamw.js";
import { makeTrainStep, NO_EMA } from "../src/train/step.js";

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
const benchDir = join(import.meta.dirname, "..", "..", "shared", "bench");
const configs =
  positionals.length > 0
    ? positionals
    : readdirSync(join(benchDir, "configs"))
        .filter((f) => f.endsWith(".json"))
        .map((f) => join(benchDir, "configs", f));

T.setDefaultRuntime(nodeOrt);

async function median(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return Math.round(ts[Math.floor(ts.length / 2)] * 10) / 10;
}

function torchBaseline(path: string): Record<string, number> | null {
  const script = join(benchDir, "torch_bench.py");
  if (values["no-torch"] || !existsSync(script) || !existsSync("/usr/bin/python3")) return null;
  try {
    const out = execFileSync(
      "/usr/bin/python3",
      [script, "--threads", String(threads), "--batch", String(B), "--iters", String(iters), path],
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

for (const path of configs) {
  const cfg = JSON.parse(readFileSync(path, "utf8"));
  const model = new UNet2DModel(cfg, { seed: 0 });
  const params = model.parameters();
  const [C, S] = [cfg.in_channels, cfg.sample_size];
  const keys = makeKey(0);
  const x = T.tensor(normal(keys, B * C * S * S), [B, C, S, S]);
  const target = T.tensor(normal(makeKey(1), B * C * S * S), [B, C, S, S]);
  const t = T.tensor(randint(makeKey(2), B, 0, 1000), [B], "int32");
  const labels = cfg.num_class_embeds
    ? T.tensor(randint(makeKey(3), B, 0, cfg.num_class_embeds), [B], "int32")
    : undefined;
  type Batch = { x: T.Tensor; t: T.Tensor; target: T.Tensor; labels?: T.Tensor };
  const batch: Batch = labels ? { x, t, target, labels } : { x, t, target };

  const loss = (p: typeof params, b: Batch) =>
    T.mean(T.square(T.sub(model.forward(p, b.x, b.t, b.labels), b.target)));
  const step = T.compile(makeTrainStep(loss, { optimizer: { weightDecay: 1e-2 } }), { threads });
  let state = { params, opt: initAdamW(params) };
  const lr = T.scalar(1e-4);
  const train = async () => {
    const r = await step(state.params, state.opt, NO_EMA, batch, lr);
    state = { params: r.params, opt: r.optState };
  };
  const fwd = T.compile((p: typeof params, b: Batch) => model.forward(p, b.x, b.t, b.labels), { threads });
  const { target: _, ...fwdBatch } = batch;

  const res: Record<string, unknown> = {
    config: basename(path),
    batch: B,
    threads,
    params: model.parameterCount(),
    train_step_ms: await median(train),
    forward_ms: await median(() => fwd(params, { ...fwdBatch, target })),
  };
  const torch = torchBaseline(path);
  if (torch) {
    res.torch_train_step_ms = torch.train_step_ms;
    res.torch_forward_ms = torch.forward_ms;
    res.train_step_ratio = Math.round(((res.train_step_ms as number) / torch.train_step_ms) * 100) / 100;
    res.forward_ratio = Math.round(((res.forward_ms as number) / torch.forward_ms) * 100) / 100;
  }
  console.log(JSON.stringify(res));
}
