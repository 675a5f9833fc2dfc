/**
 * The compiled UNet training step under two lowerings of one primitive, timed alternately in one
 * process (a, b, a, b, ...) so a shared machine's load falls on both alike (issue 15: each lowering
 * change measured against the previous one). Today's switch: the conv2d weight gradient's form
 * (src/tensor/lowering.ts `setWeightGradForm`: "stacked" im2col, "taps" one GEMM per tap, "auto").
 *
 *   npx tsx bench/train-step-ab.ts CONFIG.json [--a stacked] [--b auto] [--batch 32] [--threads 2] [--iters 9]
 *
 * CONFIG: a diffusers UNet2DModel config.json (e.g. a model folder's unet/config.json, or
 * ../shared/bench/configs/*.json). Prints the median step of each and b / a.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { nodeOrt } from "../src/onnx/node.js";
import * as T from "../src/tensor/index.js";
import { setWeightGradForm, type WeightGradForm } from "../src/tensor/lowering.js";
import { alternatedMedianMs, describeCpu } from "./machine.js";
import { unetStep } from "./unet-step.js";

T.setDefaultRuntime(nodeOrt);
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    a: { type: "string", default: "stacked" },
    b: { type: "string", default: "auto" },
    batch: { type: "string", default: "32" },
    threads: { type: "string", default: "2" },
    iters: { type: "string", default: "9" },
  },
});
const FORMS = ["auto", "stacked", "taps"];
for (const k of ["a", "b"] as const) {
  if (!FORMS.includes(values[k]!))
    throw new Error(`--${k}: ${values[k]}; expected one of ${FORMS.join(", ")}`);
}
if (!positionals[0])
  throw new Error("usage: npx tsx bench/train-step-ab.ts CONFIG.json [--a FORM] [--b FORM]");
const B = Number(values.batch);
const { stepFn, stepArgs: args } = unetStep(JSON.parse(readFileSync(positionals[0], "utf8")), B);

/** A compiled step whose graph was lowered (at its first call) under `form`. */
async function stepUnder(form: WeightGradForm) {
  const step = T.compile(stepFn, {
    threads: Number(values.threads),
  });
  const previous = setWeightGradForm(form);
  try {
    await step(...args);
  } finally {
    setWeightGradForm(previous);
  }
  return () => step(...args);
}

const a = await stepUnder(values.a as WeightGradForm);
const b = await stepUnder(values.b as WeightGradForm);
const [ma, mb] = await alternatedMedianMs([a, b], Number(values.iters), 2);
console.log(`${describeCpu()}; ${positionals[0]}, batch ${B}, ${values.threads} threads`);
console.log(
  `step (${values.a}) ${ma!.toFixed(1)} ms, (${values.b}) ${mb!.toFixed(1)} ms, ratio ${(mb! / ma!).toFixed(3)}`,
);
