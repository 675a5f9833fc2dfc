/**
 * `npm run bench:browser`: the playground's step times in the page (headless Chromium, ONNX Runtime
 * Web on WebAssembly with 2 threads) against the same code in Node (onnxruntime-node, 2 threads):
 * one sampling step of the MNIST U-Net (10 digits with guidance: batch 20), one training step of the
 * same U-Net (batch 16, AdamW) and one training step of the two-moons MLP (batch 256); web/lib/bench.ts
 * times both. Build the page first (npm run web:build). Prints one JSON line with the ratios.
 *
 *   npm run bench:browser -- [--repeats 10] [--threads 2]
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { loadPipeline } from "../src/pipelines/pipeline-node.js";
import { type BenchResult, runBench } from "../web/lib/bench.js";
import { serve } from "../web/serve.js";
import "../src/index.js"; // registers onnxruntime-node for compile()

const { values } = parseArgs({
  options: {
    repeats: { type: "string", default: "10" },
    threads: { type: "string", default: "2" },
    chromium: { type: "string", default: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" },
  },
});
const repeats = Number(values.repeats);
const threads = Number(values.threads);
const root = path.resolve(import.meta.dirname, "..");

const cpu =
  readFileSync("/proc/cpuinfo", "utf8")
    .split("\n")
    .find((l) => l.startsWith("model name"))
    ?.split(":")[1]
    ?.trim() ?? "unknown CPU";

const node = await runBench(loadPipeline(path.join(root, "web", "model")), { repeats, threads });

const { server, url } = await serve(path.join(root, "web", "dist"));
const browser = await chromium.launch({ executablePath: values.chromium, args: ["--no-sandbox"] });
let page: BenchResult;
try {
  const tab = await browser.newPage();
  await tab.goto(`${url}?threads=${threads}`);
  page = await tab.evaluate(
    (r) =>
      (
        window as unknown as { playground: { bench(o: { repeats: number }): Promise<BenchResult> } }
      ).playground.bench({ repeats: r }),
    repeats,
  );
} finally {
  await browser.close();
  server.close();
}
const ratio = (k: keyof BenchResult) => Number((page[k] / node[k]).toFixed(2));
console.log(
  JSON.stringify({
    cpu,
    threads,
    repeats,
    node,
    page,
    pageOverNode: {
      unetSampleStep: ratio("unetSampleStepMs"),
      unetTrainStep: ratio("unetTrainStepMs"),
      moonsTrainStep: ratio("moonsTrainStepMs"),
    },
  }),
);
