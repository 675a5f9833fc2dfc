/**
 * Profiles the compiled UNet training step (or forward) with ONNX Runtime's profiler and prints the
 * time per ONNX op type, to choose lowerings by measurement.
 *
 *   npx tsx bench/profile.ts CONFIG.json [--forward] [--threads 2] [--batch 16]
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import * as T from "../src/tensor/index.js";
import { unetStep } from "./unet-step.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    forward: { type: "boolean", default: false },
    threads: { type: "string", default: "2" },
    batch: { type: "string", default: "16" },
    runs: { type: "string", default: "3" },
  },
});
const B = Number(values.batch);
const { params, batch, stepFn, forwardFn, stepArgs } = unetStep(
  JSON.parse(readFileSync(positionals[0], "utf8")),
  B,
);
const args: unknown[] = values.forward ? [params, batch] : [...stepArgs];
const fn = values.forward ? forwardFn : stepFn;
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
