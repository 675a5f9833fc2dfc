/**
 * `npm run bench:browser`: the playground's step times in the page (headless Chromium, ONNX Runtime
 * Web on WebAssembly with 2 threads) against the same code in Node (onnxruntime-node, 2 threads):
 * one sampling step of the MNIST U-Net (10 digits with guidance: batch 20), one training step of the
 * same U-Net (batch 16, AdamW) and one training step of the two-moons MLP (batch 256); web/lib/bench.ts
 * times both, and also the part of each step spent inside ONNX Runtime's session.run. Node and the
 * page take turns (`--rounds` rounds, each both of them), so a shared machine's load falls on both
 * alike; each round's ratio is page median / Node median. Build the page first (npm run web:build).
 * Prints one JSON line: per round, and the median and range of the ratios.
 *
 *   npm run bench:browser -- [--rounds 3] [--repeats 6] [--threads 2]
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { nodeOrt } from "../src/onnx/node.js";
import { loadPipeline } from "../src/pipelines/pipeline-node.js";
import { type BenchResult, runBench } from "../web/lib/bench.js";
import { serve } from "../web/serve.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    repeats: { type: "string", default: "6" },
    threads: { type: "string", default: "2" },
    chromium: { type: "string", default: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" },
  },
});
const rounds = Number(values.rounds);
const repeats = Number(values.repeats);
const threads = Number(values.threads);
const root = path.resolve(import.meta.dirname, "..");

const cpu =
  readFileSync("/proc/cpuinfo", "utf8")
    .split("\n")
    .find((l) => l.startsWith("model name"))
    ?.split(":")[1]
    ?.trim() ?? "unknown CPU";

type Key = "unetSampleStepMs" | "unetTrainStepMs" | "moonsTrainStepMs";
const KEYS: Key[] = ["unetSampleStepMs", "unetTrainStepMs", "moonsTrainStepMs"];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r2 = (x: number) => Math.round(x * 100) / 100;

const nodePipe = loadPipeline(path.join(root, "web", "model"));
const { server, url } = await serve(path.join(root, "web", "dist"));
const browser = await chromium.launch({ executablePath: values.chromium, args: ["--no-sandbox"] });
const results: { node: BenchResult; page: BenchResult }[] = [];
try {
  const tab = await browser.newPage();
  await tab.goto(`${url}?backend=wasm&threads=${threads}`);
  for (let r = 0; r < rounds; r++) {
    const node = await runBench(nodePipe, { runtime: nodeOrt, repeats, threads });
    const page = await tab.evaluate(
      (n) =>
        (
          window as unknown as { playground: { bench(o: { repeats: number }): Promise<BenchResult> } }
        ).playground.bench({ repeats: n }),
      repeats,
    );
    results.push({ node, page });
    console.error(`round ${r + 1} of ${rounds}: ${JSON.stringify({ node, page })}`);
  }
} finally {
  await browser.close();
  server.close();
}
const ratios = Object.fromEntries(
  KEYS.map((k) => {
    const xs = results.map(({ node, page }) => page[k] / node[k]);
    return [
      k.replace(/Ms$/, ""),
      { median: r2(median(xs)), min: r2(Math.min(...xs)), max: r2(Math.max(...xs)) },
    ];
  }),
);
const medians = (w: "node" | "page") =>
  Object.fromEntries(KEYS.map((k) => [k, r2(median(results.map((x) => x[w][k])))]));
console.log(
  JSON.stringify({
    cpu,
    threads,
    rounds,
    repeats,
    loadAverage: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
    nodeMs: medians("node"),
    pageMs: medians("page"),
    pageOverNode: ratios,
    perRound: results,
  }),
);
