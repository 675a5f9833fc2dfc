/**
 * `npm run bench`: per config of the shared benchmark (../shared/bench/configs) and the default
 * preset's network, the UNet2D training step (forward, MSE on an epsilon target, backward, AdamW; one
 * compiled ONNX graph) and one forward pass (a sampling step), next to the PyTorch baseline
 * (../shared/bench/torch_bench.py, same invocation, when Debian's python3-torch is installed).
 *
 * First line: the machine (CPU model, family and vector extensions) and its sgemm rate measured now,
 * through ONNX Runtime and through PyTorch. Then one JSON line per config with the step's FLOPs (the
 * contractions of the traced graph, 2 per multiply-accumulate: src/tensor/flops.ts), the achieved
 * GFLOP/s and their fraction of the machine's best sgemm rate, and the ratio to PyTorch's time. Last,
 * sampling throughput of the default preset: images per second of one denoiser evaluation at several
 * batch sizes (the best in bold in the README), ours and PyTorch's.
 *
 *   npm run bench -- [--threads 2] [--batch 16] [--iters 5] [--warmup 2] [--no-torch]
 *       [--sample-batches 16,64,256] [--no-sampling] [configs...]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { UNet2DModel } from "../src/models/unet2d.js";
import type { UNet2DConfig } from "../src/models/unet2d-config.js";
import type { Params } from "../src/nn/index.js";
import { nodeOrt } from "../src/onnx/node.js";
import * as T from "../src/tensor/index.js";
import type { AdamWState } from "../src/train/optim/adamw.js";
import { getPreset, modelSpecFor } from "../src/train/presets.js";
import { NO_EMA } from "../src/train/step.js";
import { alternatedMedianMs, describeCpu, medianMs, ortSgemm, round1, torchRates } from "./machine.js";
import { type UNetBatch, unetBatch, unetStep } from "./unet-step.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    threads: { type: "string", default: "2" },
    batch: { type: "string", default: "16" },
    iters: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    "no-torch": { type: "boolean", default: false },
    "sample-batches": { type: "string", default: "16,64,256" },
    "no-sampling": { type: "boolean", default: false },
  },
});
const threads = Number(values.threads);
const B = Number(values.batch);
const iters = Number(values.iters);
const warmup = Number(values.warmup);
const useTorch = !values["no-torch"];
const benchDir = join(import.meta.dirname, "..", "..", "shared", "bench");
const tmp = mkdtempSync(join(tmpdir(), "diffuse-bench-"));

/** The default preset's network (what `npx diffuse train` trains) as a config file both engines read. */
const DEFAULT_PRESET = "unet28-cond";
function presetConfigFile(): string {
  const spec = modelSpecFor(getPreset(DEFAULT_PRESET), { kind: "image", shape: [1, 28, 28] }, 10);
  const file = join(tmp, `preset-${DEFAULT_PRESET}.json`);
  // Every field resolved (defaults filled in), as the PyTorch side reads them all.
  const full = new UNet2DModel(spec.config as UNet2DConfig, { seed: 0 }).config;
  writeFileSync(file, JSON.stringify({ _class_name: "UNet2DModel", ...full }));
  return file;
}

const configs =
  positionals.length > 0
    ? positionals
    : [
        ...readdirSync(join(benchDir, "configs"))
          .filter((f) => f.endsWith(".json"))
          .map((f) => join(benchDir, "configs", f)),
        presetConfigFile(),
      ];

T.setDefaultRuntime(nodeOrt);
const round2 = (x: number) => Math.round(x * 100) / 100;
const median = async (fn: () => Promise<unknown>) => round1(await medianMs(fn, iters, warmup));

function torchBaseline(path: string): Record<string, number> | null {
  const script = join(benchDir, "torch_bench.py");
  if (!useTorch || !existsSync(script) || !existsSync("/usr/bin/python3")) return null;
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

// The machine, and its GEMM rate now (the ceiling the steps below are read against).
const sizes = [1024, 2048];
const ortGemm = await ortSgemm(threads, sizes, iters);
const torchGemm = useTorch
  ? (torchRates(["sgemm", "--threads", String(threads), "--sizes", sizes.join(","), "--iters", String(iters)])
      ?.sgemm_gflops as Record<string, number> | undefined)
  : undefined;
const sgemm = Math.max(...Object.values(ortGemm), ...Object.values(torchGemm ?? {}));
console.log(
  JSON.stringify({
    cpu: describeCpu(),
    threads,
    sgemm_gflops: { ort: ortGemm, torch: torchGemm ?? null },
    sgemm_best: sgemm,
  }),
);

for (const path of configs) {
  const cfg = JSON.parse(readFileSync(path, "utf8"));
  const { model, params, batch, stepFn, forwardFn: fwdFn, stepArgs } = unetStep(cfg, B);
  const step = T.compile(stepFn, { threads });
  let state: { params: Params; opt: AdamWState<Params> } = { params, opt: stepArgs[1] };
  const lr = stepArgs[4];
  const train = async () => {
    const r = await step(state.params, state.opt, NO_EMA, batch, lr);
    state = { params: r.params, opt: r.optState };
  };
  const fwd = T.compile(fwdFn, { threads });

  const trainFlops = T.countFlops(stepFn, [...stepArgs]).flops;
  const fwdFlops = T.countFlops(fwdFn, [params, batch]).flops;
  const trainMs = await median(train);
  const fwdMs = await median(() => fwd(params, batch));
  const gflops = (f: number, ms: number) => round1(f / ms / 1e6);
  const res: Record<string, unknown> = {
    config: basename(path),
    batch: B,
    threads,
    params: model.parameterCount(),
    train_step_ms: trainMs,
    forward_ms: fwdMs,
    train_gflop: round2(trainFlops / 1e9),
    forward_gflop: round2(fwdFlops / 1e9),
    train_gflops_s: gflops(trainFlops, trainMs),
    forward_gflops_s: gflops(fwdFlops, fwdMs),
    train_sgemm_fraction: round2(trainFlops / trainMs / 1e6 / sgemm),
    forward_sgemm_fraction: round2(fwdFlops / fwdMs / 1e6 / sgemm),
  };
  const torch = torchBaseline(path);
  if (torch) {
    res.torch_train_step_ms = torch.train_step_ms;
    res.torch_forward_ms = torch.forward_ms;
    res.train_step_ratio = round2(trainMs / torch.train_step_ms);
    res.forward_ratio = round2(fwdMs / torch.forward_ms);
  }
  console.log(JSON.stringify(res));
}

// Sampling throughput of the default preset: one denoiser evaluation per image per sampling step.
if (!values["no-sampling"]) {
  const file = presetConfigFile();
  const cfg = JSON.parse(readFileSync(file, "utf8"));
  const model = new UNet2DModel(cfg, { seed: 0 });
  const params = model.parameters();
  // Sampling compiles a loaded model's weights into the graph (generate's frozenWeights): timed beside
  // the weights-as-inputs forward of training-time grids, alternately.
  const fwd = T.compile((b: UNetBatch) => model.forward(params, b.x, b.t, b.labels), { threads });
  const fwdInputs = T.compile((p: typeof params, b: UNetBatch) => model.forward(p, b.x, b.t, b.labels), {
    threads,
  });
  const batches = values["sample-batches"].split(",").map(Number);
  const torch = useTorch
    ? (torchRates([
        "forward",
        file,
        "--threads",
        String(threads),
        "--batches",
        batches.join(","),
        "--iters",
        String(iters),
      ])?.forward_ms as Record<string, number> | undefined)
    : undefined;
  const perBatch: Record<string, unknown>[] = [];
  for (const n of batches) {
    const batch = unetBatch(model.config, n);
    const [frozenMs, inputsMs] = await alternatedMedianMs(
      [() => fwd(batch), () => fwdInputs(params, batch)],
      iters,
      warmup,
    );
    const ms = round1(frozenMs!);
    const row: Record<string, unknown> = {
      batch: n,
      forward_ms: ms,
      images_per_s: round1((n * 1000) / ms),
      weights_as_inputs_ms: round1(inputsMs!),
      frozen_over_inputs: round2(ms / inputsMs!),
    };
    const tms = torch?.[n];
    if (tms)
      Object.assign(row, {
        torch_forward_ms: tms,
        torch_images_per_s: round1((n * 1000) / tms),
        ratio: round2(ms / tms),
      });
    perBatch.push(row);
  }
  const best = (k: string) => Math.max(...perBatch.map((r) => (r[k] as number | undefined) ?? 0));
  console.log(
    JSON.stringify({
      sampling: DEFAULT_PRESET,
      threads,
      per_batch: perBatch,
      best_images_per_s: best("images_per_s"),
      torch_best_images_per_s: torch ? best("torch_images_per_s") : null,
    }),
  );
}
