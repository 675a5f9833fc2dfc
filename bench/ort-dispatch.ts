/**
 * Per-run overhead of onnxruntime-node through OnnxSession (not a test; prints JSON).
 *   npx tsx bench/ort-dispatch.ts
 * Measures: a trivial model (one Add on 1 float) via raw ORT and via OnnxSession, with and without
 * pre-allocated outputs; a chain of 100 small Adds (per-node cost inside one run); a 4M-float output
 * with and without pre-allocation (onnxruntime-node also returns a copy of pre-allocated outputs);
 * encoding a model with a 32 MiB initializer.
 */
import * as ort from "onnxruntime-node";
import { OnnxGraphBuilder } from "../src/onnx/builder.js";
import { createNodeSession } from "../src/onnx/node.js";
import type { OnnxTensor } from "../src/onnx/runtime.js";

const threads = 1;

async function timeIt(iters: number, f: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(50, iters); i++) await f();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await f();
  return Math.round(((performance.now() - t0) / iters) * 10_000) / 10; // microseconds, 0.1 resolution
}

function addChain(n: number, len: number): Uint8Array {
  const b = new OnnxGraphBuilder();
  let v = b.input("x", "float32", [len]);
  for (let i = 0; i < n; i++) v = b.node("Add", [v, b.constFloat([i + 1])])[0]!;
  b.output("y", "float32", [len], v);
  return b.toModel();
}

const results: Record<string, number> = {};
const x1: OnnxTensor = { dtype: "float32", shape: [1], data: new Float32Array([1]) };

const trivial = addChain(1, 1);
const raw = await ort.InferenceSession.create(trivial, { intraOpNumThreads: threads, interOpNumThreads: 1 });
const rawX = new ort.Tensor("float32", new Float32Array([1]), [1]);
results.raw_ort_trivial_us = await timeIt(2000, () => raw.run({ x: rawX }));

const s1 = await createNodeSession(trivial, { threads });
results.session_trivial_us = await timeIt(2000, () => s1.run({ x: x1 }));
const y1: OnnxTensor = { dtype: "float32", shape: [1], data: new Float32Array(1) };
results.session_trivial_prealloc_us = await timeIt(2000, () => s1.run({ x: x1 }, { y: y1 }));

// Whole-graph fusion may fold a chain of constant Adds; "basic" keeps the nodes.
const chain = await createNodeSession(addChain(100, 1), { threads, optimization: "basic" });
results.chain100_basic_us = await timeIt(500, () => chain.run({ x: x1 }));

const n = 4 * 1024 * 1024;
const big = await createNodeSession(addChain(1, n), { threads });
const xBig: OnnxTensor = { dtype: "float32", shape: [n], data: new Float32Array(n) };
const yBig: OnnxTensor = { dtype: "float32", shape: [n], data: new Float32Array(n) };
results.add_4M_us = await timeIt(30, () => big.run({ x: xBig }));
results.add_4M_prealloc_us = await timeIt(30, () => big.run({ x: xBig }, { y: yBig }));

const enc = new OnnxGraphBuilder();
const w = enc.initializer("float32", [8 * 1024 * 1024], new Float32Array(8 * 1024 * 1024));
enc.output("y", "float32", [8 * 1024 * 1024], enc.node("Relu", [w])[0]);
const t0 = performance.now();
const bytes = enc.toModel();
results.encode_32MiB_ms = Math.round(performance.now() - t0);
results.encode_32MiB_bytes = bytes.length;

console.log(
  JSON.stringify({ bench: "ort-dispatch", threads, ort: ort.env.versions?.common, ...results }, null, 2),
);
