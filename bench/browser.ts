/**
 * `npm run bench:browser`: the playground's step times in the page (headless Chromium, ONNX Runtime
 * Web on WebAssembly with 2 threads) against the same code in Node (onnxruntime-node, 2 threads):
 * one sampling step of the MNIST U-Net (10 digits with guidance: batch 20), one training step of the
 * same U-Net (batch 16, AdamW) and one training step of the two-moons MLP (batch 256); web/lib/bench.ts
 * times both, and also the part of each step spent inside ONNX Runtime's session.run. Node and the
 * page take turns (`--rounds` rounds, each both of them), so a shared machine's load falls on both
 * alike; each round's ratio is page median / Node median. Build the page first (npm run web:build).
 * Prints one JSON line: per round, and the median and range of the ratios, and the CPU time each side
 * used over its wall time (Node: process.cpuUsage(); the page: the browser's processes, from /proc),
 * which shows how many cores a side kept busy.
 *
 * `--variant QUERY` adds a second tab whose URL has QUERY appended (e.g.
 * `session={"enableCpuMemArena":true}`, see web/lib/backend.ts parseSessionOptions): each round then
 * times Node, the page and the variant in turn, and the output adds variant / page ratios.
 *
 * `--interleave N` times instead only the network call of the sampling step (lib/bench.ts
 * unetForwardTimer: the U-Net forward on batch 20) and alternates call by call: Node, page (and the
 * variant), N times after 2 warm-up calls each; ratios are per triple, and each side's CPU seconds per
 * call are read around its call. On a loaded machine this pairs the two sides of a ratio seconds apart
 * instead of a minute. The forward has the weights compiled into the graph, as sampling compiles them
 * (`generate`'s frozenWeights) on both sides; `--weights inputs` times the weights-as-inputs graph on
 * both sides instead (the page reads `?weights=inputs`). `--sgemm N` (with `--interleave`) times an
 * N x N matmul instead, the GEMM rate each side's ONNX Runtime reaches (GFLOP/s in the output): the
 * bound of the convolution-bound U-Net steps.
 *
 *   npm run bench:browser -- [--rounds 3] [--repeats 6] [--threads 2] [--variant QUERY] [--interleave N]
 *       [--weights frozen|inputs] [--sgemm N]
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { nodeOrt } from "../src/onnx/node.js";
import { loadPipeline } from "../src/pipelines/pipeline-node.js";
import { type BenchResult, runBench, type StepTime, sgemmTimer, unetForwardTimer } from "../web/lib/bench.js";
import { serve } from "../web/serve.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    repeats: { type: "string", default: "6" },
    threads: { type: "string", default: "2" },
    variant: { type: "string" },
    interleave: { type: "string" },
    weights: { type: "string", default: "frozen" },
    sgemm: { type: "string" },
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

/** CPU seconds (user + system) of every process descending from this one: the browser's. */
function childrenCpuSeconds(): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      // Fields after the name: state(3) ppid(4) ... utime(14) stime(15), counted from 3.
      stats.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the process ended while listed
    }
  }
  let ticks = 0;
  for (const [pid, s] of stats) {
    let p = s.ppid;
    for (let hops = 0; hops < 64 && p > 1; hops++) {
      if (p === process.pid) {
        ticks += s.ticks;
        break;
      }
      p = stats.get(p)?.ppid ?? 0;
    }
    void pid;
  }
  return ticks / 100; // USER_HZ
}

type Timed = BenchResult & { cpuOverWall: number };

async function timeSide(cpu: () => number, f: () => Promise<BenchResult>): Promise<Timed> {
  const [c0, t0] = [cpu(), performance.now()];
  const r = await f();
  return { ...r, cpuOverWall: r2((cpu() - c0) / ((performance.now() - t0) / 1000)) };
}
const nodeCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const nodePipe = loadPipeline(path.join(root, "web", "model"));
const { server, url } = await serve(path.join(root, "web", "dist"));
const browser = await chromium.launch({ executablePath: values.chromium, args: ["--no-sandbox"] });
const results: { node: Timed; page: Timed; variant?: Timed }[] = [];
type Call = StepTime & { cpuS: number };
const calls: { node: Call; page: Call; variant?: Call }[] = [];
const sgemmN = values.sgemm === undefined ? 0 : Number(values.sgemm);
if (values.sgemm !== undefined && !(Number.isInteger(sgemmN) && sgemmN >= 1)) {
  throw new Error(`--sgemm: ${values.sgemm}; expected a matrix size, an integer >= 1`);
}
type Playground = { forwardStep(): Promise<StepTime>; sgemmStep(n: number): Promise<StepTime> };
const pageForward = (tab: import("playwright-core").Page) =>
  tab.evaluate((n) => {
    const p = (window as unknown as { playground: Playground }).playground;
    return n > 0 ? p.sgemmStep(n) : p.forwardStep();
  }, sgemmN);
async function timedCall(cpu: () => number, f: () => Promise<StepTime>): Promise<Call> {
  const c0 = cpu();
  const r = await f();
  return { ...r, cpuS: r2((cpu() - c0) * 100) / 100 };
}
const pageBench = (tab: import("playwright-core").Page) =>
  tab.evaluate(
    (n) =>
      (
        window as unknown as { playground: { bench(o: { repeats: number }): Promise<BenchResult> } }
      ).playground.bench({ repeats: n }),
    repeats,
  );
try {
  if (values.weights !== "frozen" && values.weights !== "inputs") {
    throw new Error(`--weights: ${values.weights}; expected frozen or inputs`);
  }
  const frozenWeights = values.weights === "frozen";
  const base = `${url}?backend=wasm&threads=${threads}${frozenWeights ? "" : "&weights=inputs"}`;
  const tab = await browser.newPage();
  await tab.goto(base);
  const variantTab = values.variant === undefined ? undefined : await browser.newPage();
  if (variantTab) {
    const errors: string[] = [];
    variantTab.on("pageerror", (e) => errors.push(e.message));
    await variantTab.goto(`${base}&${values.variant}`);
    await variantTab.waitForFunction(
      () => "playground" in window || document.getElementById("error")?.hidden === false,
    );
    if (errors.length > 0) throw new Error(`the variant page failed: ${errors.join("; ")}`);
  }
  const interleave = values.interleave === undefined ? 0 : Number(values.interleave);
  const nodeForward =
    interleave === 0
      ? null
      : sgemmN > 0
        ? await sgemmTimer({ runtime: nodeOrt, threads, n: sgemmN })
        : await unetForwardTimer(nodePipe, { runtime: nodeOrt, threads, frozenWeights });
  for (let i = -2; nodeForward && i < interleave; i++) {
    const node = await timedCall(nodeCpuSeconds, nodeForward);
    const page = await timedCall(childrenCpuSeconds, () => pageForward(tab));
    const variant = variantTab
      ? await timedCall(childrenCpuSeconds, () => pageForward(variantTab))
      : undefined;
    if (i >= 0) calls.push(variant ? { node, page, variant } : { node, page });
    console.error(`call ${i + 1} of ${interleave}: ${JSON.stringify({ node, page, variant })}`);
  }
  for (let r = 0; r < (interleave > 0 ? 0 : rounds); r++) {
    const node = await timeSide(nodeCpuSeconds, () =>
      runBench(nodePipe, { runtime: nodeOrt, repeats, threads }),
    );
    const page = await timeSide(childrenCpuSeconds, () => pageBench(tab));
    const variant = variantTab ? await timeSide(childrenCpuSeconds, () => pageBench(variantTab)) : undefined;
    results.push(variant ? { node, page, variant } : { node, page });
    console.error(`round ${r + 1} of ${rounds}: ${JSON.stringify({ node, page, variant })}`);
  }
} finally {
  await browser.close();
  server.close();
}
type Side = "node" | "page" | "variant";
if (calls.length > 0) {
  const stats = (xs: number[]) => ({
    median: r2(median(xs)),
    min: r2(Math.min(...xs)),
    max: r2(Math.max(...xs)),
  });
  const side = (w: Side) => ({
    ms: stats(calls.map((c) => c[w]!.ms)),
    ...(sgemmN > 0 ? { gflops: r2((2 * sgemmN ** 3) / median(calls.map((c) => c[w]!.ms)) / 1e6) } : {}),
    inRunMs: r2(median(calls.map((c) => c[w]!.inRunMs))),
    cpuS: r2(median(calls.map((c) => c[w]!.cpuS))),
    cpuOverWall: r2(median(calls.map((c) => c[w]!.cpuS / (c[w]!.ms / 1000)))),
  });
  const hasV = calls[0]!.variant !== undefined;
  console.log(
    JSON.stringify({
      cpu,
      threads,
      step:
        sgemmN > 0
          ? `${sgemmN} x ${sgemmN} float32 matmul`
          : `U-Net forward, batch 20 (the sampling step's network call, weights ${values.weights === "frozen" ? "compiled in" : "as inputs"})`,
      calls: calls.length,
      loadAverage: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
      node: side("node"),
      page: side("page"),
      pageOverNode: stats(calls.map((c) => c.page.ms / c.node.ms)),
      ...(hasV
        ? {
            variant: values.variant,
            variantSide: side("variant"),
            variantOverNode: stats(calls.map((c) => c.variant!.ms / c.node.ms)),
            variantOverPage: stats(calls.map((c) => c.variant!.ms / c.page.ms)),
          }
        : {}),
      perCall: calls,
    }),
  );
  process.exit(0);
}
const ratios = (num: Side, den: Side) =>
  Object.fromEntries(
    KEYS.map((k) => {
      const xs = results.map((x) => x[num]![k] / x[den]![k]);
      return [
        k.replace(/Ms$/, ""),
        { median: r2(median(xs)), min: r2(Math.min(...xs)), max: r2(Math.max(...xs)) },
      ];
    }),
  );
const medians = (w: Side) =>
  Object.fromEntries(KEYS.map((k) => [k, r2(median(results.map((x) => x[w]![k])))]));
const hasVariant = values.variant !== undefined;
console.log(
  JSON.stringify({
    cpu,
    threads,
    rounds,
    repeats,
    loadAverage: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
    nodeMs: medians("node"),
    pageMs: medians("page"),
    pageOverNode: ratios("page", "node"),
    cpuOverWall: {
      node: r2(median(results.map((x) => x.node.cpuOverWall))),
      page: r2(median(results.map((x) => x.page.cpuOverWall))),
    },
    ...(hasVariant
      ? {
          variant: values.variant,
          variantMs: medians("variant"),
          variantOverNode: ratios("variant", "node"),
          variantOverPage: ratios("variant", "page"),
          variantCpuOverWall: r2(median(results.map((x) => x.variant!.cpuOverWall))),
        }
      : {}),
    perRound: results,
  }),
);
