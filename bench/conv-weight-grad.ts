/**
 * The conv2d weight gradient (primitive convWeightGrad) lowered four ways, timed alternately in one
 * process on the unet28 network's convolution shapes (batch 32), to choose the lowering by
 * measurement (issue 15):
 *   stacked  the lowering before this bench: strided tap slices concatenated into
 *            cols [B, Ci*k*k, Ho*Wo], one batched GEMM with dy, a sum over the batch;
 *   taps     per tap, a batched GEMM of dy with that tap's slice, summed over the batch; the k*k small
 *            [Co, Ci] results concatenated (no concat of the large im2col buffer);
 *   lowering the project's choice between the two (src/tensor/lowering.ts, weightGradGroup);
 *   conv     dW as a convolution: the padded input with batch and channels swapped [Ci, B, Hp, Wp],
 *            filtered by dy with batch and channels swapped [Co, B, Ho, Wo] (stride = the forward's
 *            dilation, dilation = its stride), giving [Ci, Co, kh, kw], transposed.
 *
 *   npx tsx bench/conv-weight-grad.ts [--threads 1] [--iters 7] [--batch 32]
 */
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { attr, OnnxGraphBuilder } from "../src/onnx/builder.js";
import { makeKey, normal } from "../src/random/index.js";
import { weightGradGroup } from "../src/tensor/lowering.js";
import type { PrimitiveParams } from "../src/tensor/primitives.js";
import { alternatedMedianMs } from "./machine.js";

type P = PrimitiveParams["convWeightGrad"];
type Variant = (b: OnnxGraphBuilder, x: string, dy: string, xs: number[], dys: number[], p: P) => string;

const form =
  (f: "auto" | "stacked" | "taps"): Variant =>
  (b, x, dy, xs, dys, p) =>
    weightGradGroup(b, x, dy, { shape: xs, dtype: "float32" }, { shape: dys, dtype: "float32" }, p, f);

/** The weight gradient as a convolution (batch and channels swapped on both operands). */
const conv: Variant = (b, x, dy, _xs, dys, p) => {
  const [pt, pl, pb, pr] = p.padding;
  const xp = pt + pl + pb + pr > 0 ? b.node("Pad", [x, b.constInt64([0, 0, pt, pl, 0, 0, pb, pr])])[0]! : x;
  const xT = b.node("Transpose", [xp], { perm: attr.ints([1, 0, 2, 3]) })[0]!;
  const dyT = b.node("Transpose", [dy], { perm: attr.ints([1, 0, 2, 3]) })[0]!;
  // The rows and columns of the padded input a stride-s forward reads: crop what it never reads.
  const [Ho, Wo] = [dys[2]!, dys[3]!];
  const reach = (k: number, i: 0 | 1, n: number) => (n - 1) * p.stride[i] + (k - 1) * p.dilation[i] + 1;
  const cropped = b.node("Slice", [
    xT,
    b.constInt64([0, 0]),
    b.constInt64([reach(p.kernel[0], 0, Ho), reach(p.kernel[1], 1, Wo)]),
    b.constInt64([2, 3]),
  ])[0]!;
  const w = b.node("Conv", [cropped, dyT], {
    strides: attr.ints(p.dilation),
    dilations: attr.ints(p.stride),
  })[0]!;
  return b.node("Transpose", [w], { perm: attr.ints([1, 0, 2, 3]) })[0]!;
};

const VARIANTS: Record<string, Variant> = {
  stacked: form("stacked"),
  taps: form("taps"),
  lowering: form("auto"),
  conv,
};

const { values } = parseArgs({
  options: {
    threads: { type: "string", default: "1" },
    iters: { type: "string", default: "7" },
    batch: { type: "string", default: "32" },
  },
});
const B = Number(values.batch);
// [Ci, Co, H, stride]: unet28's 3x3 convolutions (conv_in, the resnets of each level, downsamplers).
const SHAPES: [number, number, number, number][] = [
  [1, 32, 28, 1],
  [32, 32, 28, 1],
  [32, 64, 14, 1],
  [64, 64, 14, 1],
  [64, 64, 7, 1],
  [32, 32, 28, 2],
  [128, 64, 14, 1],
];

async function sessionOf(v: Variant, xs: number[], dys: number[], p: P) {
  const b = new OnnxGraphBuilder();
  const x = b.input("x", "float32", xs);
  const dy = b.input("dy", "float32", dys);
  b.output("dw", "float32", [dys[1]!, xs[1]!, 3, 3], v(b, x, dy, xs, dys, p));
  return ort.InferenceSession.create(b.toModel(), {
    intraOpNumThreads: Number(values.threads),
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
}

console.log(`| Ci | Co | H | stride | ${Object.keys(VARIANTS).join(" ms | ")} ms | max diff vs stacked |`);
for (const [Ci, Co, H, s] of SHAPES) {
  const Ho = Math.floor((H + 2 - 3) / s) + 1;
  const xs = [B, Ci, H, H];
  const dys = [B, Co, Ho, Ho];
  const p: P = { stride: [s, s], padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1, kernel: [3, 3] };
  const feeds = {
    x: new ort.Tensor(
      "float32",
      normal(
        makeKey(0),
        xs.reduce((a, c) => a * c),
      ),
      xs,
    ),
    dy: new ort.Tensor(
      "float32",
      normal(
        makeKey(1),
        dys.reduce((a, c) => a * c),
      ),
      dys,
    ),
  };
  const sessions = await Promise.all(Object.values(VARIANTS).map((v) => sessionOf(v, xs, dys, p)));
  const outs = await Promise.all(sessions.map(async (se) => (await se.run(feeds)).dw!.data as Float32Array));
  const diff = Math.max(
    ...outs.map((o) => o.reduce((m, v, i) => Math.max(m, Math.abs(v - outs[0]![i]!)), 0)),
  );
  const ms = await alternatedMedianMs(
    sessions.map((se) => () => se.run(feeds)),
    Number(values.iters),
    2,
  );
  console.log(
    `| ${Ci} | ${Co} | ${H} | ${s} | ${ms.map((m) => m.toFixed(2)).join(" | ")} | ${diff.toExponential(1)} |`,
  );
}
