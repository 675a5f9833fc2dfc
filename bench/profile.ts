/**
 * Profiles the compiled UNet training step (or forward) with ONNX Runtime's profiler and prints the
 * time per ONNX op type, to choose lowerings by measurement.
 *
 *   npx tsx bench/profile.ts CONFIG.json [--forward] [--threads 2] [--batch 16]
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { UNet2DModel } from "../src/models/unet2d.js";
import { makeKey, normal, randint } from "../src/random/index.js";
import * as T from "../src/tensor/index.js";
import { initAdamW } from "../src/train/optim/adamw.js";
import { makeTrainStep, NO_EMA } from "../src/train/step.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    forward: { type: "boolean", default: false },
    threads: { type: "string", default: "2" },
    batch: { type: "string", default: "16" },
    runs: { type: "string", default: "3" },
  },
});
const cfg = JSON.parse(readFileSync(positionals[0], "utf8"));
const B = Number(values.batch);
const model = new UNet2DModel(cfg, { seed: 0 });
const params = model.parameters();
const [C, S] = [cfg.in_channels, cfg.sample_size];
const x = T.tensor(normal(makeKey(0), B * C * S * S), [B, C, S, S]);
const target = T.tensor(normal(makeKey(1), B * C * S * S), [B, C, S, S]);
const t = T.tensor(randint(makeKey(2), B, 0, 1000), [B], "int32");
const labels = cfg.num_class_embeds
  ? T.tensor(randint(makeKey(3), B, 0, cfg.num_class_embeds), [B], "int32")
  : undefined;
const batch = labels ? { x, t, target, labels } : { x, t, target };
type Batch = typeof batch & { labels?: T.Tensor };
const loss = (p: typeof params, b: Batch) =>
  T.mean(T.square(T.sub(model.forward(p, b.x, b.t, b.labels), b.target)));

const args: unknown[] = values.forward
  ? [params, batch]
  : [params, initAdamW(params), NO_EMA, batch, T.scalar(1e-4)];
const fn = values.forward
  ? (p: typeof params, b: Batch) => model.forward(p, b.x, b.t, b.labels)
  : makeTrainStep(loss, { optimizer: { weightDecay: 1e-2 } });
const lowered = T.compile(fn as (...a: unknown[]) => unknown).lower(...args);
console.error(`nodes: ${lowered.nodeCount}, model bytes: ${lowered.model.length}`);

const session = await ort.InferenceSession.create(lowered.model, {
  intraOpNumThreads: Number(values.threads),
  interOpNumThreads: 1,
  graphOptimizationLevel: "all",
  enableProfiling: true,
  profileFilePrefix: "/tmp/diffuse-profile",
});
const feeds = Object.fromEntries(
  T.leaves(args).map((l, i) => [
    lowered.inputNames[i],
    new ort.Tensor(l.dtype as "float32", l.values() as Float32Array, [...l.shape]),
  ]),
);
const warmup = 3;
for (let i = 0; i < warmup; i++) await session.run(feeds);
for (let i = 0; i < Number(values.runs); i++) {
  const t0 = performance.now();
  await session.run(feeds);
  console.error(`run ${i}: ${(performance.now() - t0).toFixed(1)} ms`);
}
session.endProfiling();
// onnxruntime-node does not return the profile's path: take the newest file with our prefix.
const file = `/tmp/${readdirSync("/tmp")
  .filter((f) => f.startsWith("diffuse-profile"))
  .sort()
  .pop()}`;
const events = JSON.parse(readFileSync(file, "utf8")) as {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}[];
rmSync(file);
const byOp = new Map<string, { us: number; n: number }>();
let total = 0;
for (const e of events) {
  if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
  const op = e.args?.op_name ?? "?";
  const s = byOp.get(op) ?? { us: 0, n: 0 };
  s.us += e.dur;
  s.n += 1;
  byOp.set(op, s);
  total += e.dur;
}
const runs = Number(values.runs);
console.log(`total kernel time per run: ${(total / (runs + warmup) / 1000).toFixed(1)} ms`);
for (const [op, s] of [...byOp].sort((a, b) => b[1].us - a[1].us).slice(0, 25)) {
  console.log(
    `${op.padEnd(22)} ${(s.us / (runs + warmup) / 1000).toFixed(1).padStart(8)} ms  ${String(s.n / (runs + warmup)).padStart(5)} nodes`,
  );
}
