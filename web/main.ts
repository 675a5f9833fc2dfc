/**
 * The playground page: wires the controls of index.html to the digit sampler (lib/mnist.ts) and the
 * live two-moons trainer (lib/moons.ts). ONNX Runtime Web runs on WebAssembly, with threads when the
 * page is cross-origin isolated (the server sends COOP/COEP). `window.playground` exposes the last
 * results (for the browser test and the benchmark); the page itself needs none of it.
 */
import { type OrtLike, setDefaultRuntime } from "diffuse/core";
import * as ort from "onnxruntime-web/wasm";
import { runBench } from "./lib/bench.js";
import { drawImages, drawLoss, drawPoints } from "./lib/draw.js";
import { fetchPipeline, PAGE_SAMPLERS, sampleDigits } from "./lib/mnist.js";
import { medianDistanceToData, PointsTrainer, type ToySet, toyData } from "./lib/points.js";
import { yieldingRuntime } from "./lib/yielding.js";

const $ = <E extends HTMLElement>(id: string) => document.getElementById(id) as E;
const num = (id: string) => Number($<HTMLInputElement>(id).value);

const params = new URLSearchParams(location.search);
const threads = Number(
  params.get("threads") ?? (crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency) : 1),
);
ort.env.wasm.wasmPaths = new URL("./ort/", location.href).href;
ort.env.wasm.numThreads = threads;
// The OrtLike surface diffuse uses (InferenceSession.create, Tensor) is onnxruntime-common's; each run
// yields to the browser first so the canvases repaint while a loop runs (lib/yielding.ts).
const pageRuntime = yieldingRuntime(ort as unknown as OrtLike);
setDefaultRuntime(pageRuntime);

/** What the test and the benchmark read. */
const playground = {
  threads,
  crossOriginIsolated,
  sample: null as null | {
    values: number[];
    shape: number[];
    labels: number[];
    request: unknown;
    msPerStep: number;
  },
  training: null as null | { losses: number[]; samples: number[]; labels: number[]; medianDistance: number },
  /** Step times (lib/bench.ts) on the plain runtime: no yields to the browser inside the timings. */
  bench: async (o?: Parameters<typeof runBench>[1]) => {
    setDefaultRuntime(ort as unknown as OrtLike);
    try {
      return await runBench(pipeReady, o);
    } finally {
      setDefaultRuntime(pageRuntime);
    }
  },
};
(window as unknown as { playground: typeof playground }).playground = playground;

function fail(where: string, e: unknown): void {
  const el = $("error");
  el.hidden = false;
  el.textContent = `${where}: ${e instanceof Error ? e.message : String(e)}`;
  console.error(e);
}

// ---- Runtime line ----
const gpu = "gpu" in navigator ? "WebGPU is offered by this browser but not used yet" : "no WebGPU";
$("runtime").textContent =
  `ONNX Runtime Web ${ort.env.versions.web ?? ""}: WebAssembly, ${threads} thread${threads > 1 ? "s" : ""}${
    crossOriginIsolated ? "" : " (page not cross-origin isolated: no threads)"
  }; ${gpu}.`;

// ---- Digits ----
const classes = $("classes");
for (let d = 0; d < 10; d++) {
  const label = document.createElement("label");
  label.innerHTML = `<input type="checkbox" name="digit" value="${d}" checked> ${d}`;
  classes.append(label);
}
for (const id of ["sampler", "moons-sampler"]) {
  for (const s of PAGE_SAMPLERS) $<HTMLSelectElement>(id).add(new Option(s, s));
}

const sampling = $("sampling");
const pipeReady = fetchPipeline(new URL("./model/", location.href).href);
pipeReady.then(
  () => {
    sampling.dataset.state = "ready";
    $<HTMLButtonElement>("generate").disabled = false;
  },
  (e) => {
    sampling.dataset.state = "error";
    fail("loading the model", e);
  },
);

$("sample-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const button = $<HTMLButtonElement>("generate");
  button.disabled = true;
  sampling.dataset.state = "running";
  const digits = Array.from(document.querySelectorAll<HTMLInputElement>('input[name="digit"]:checked'), (c) =>
    Number(c.value),
  );
  const per = num("per-class");
  const request = {
    labels: Array.from({ length: per }, () => digits).flat(),
    guidanceScale: num("guidance"),
    sampler: $<HTMLSelectElement>("sampler").value,
    steps: num("steps"),
    seed: num("seed"),
  };
  const status = $("sample-status");
  const n = request.labels.length;
  // At most 5 columns at 2 px per pixel (300 px), so x_t and x0 fit side by side.
  const cols = Math.max(1, Math.min(5, digits.length));
  let total = 0;
  try {
    if (n === 0) throw new Error("choose at least one digit");
    const pipe = await pipeReady;
    const out = await sampleDigits(pipe, request, (w, ms) => {
      total += ms;
      drawImages($("xt"), w.xt, n, 28, 28, cols, 2);
      if (w.x0) drawImages($("x0"), w.x0, n, 28, 28, cols, 2);
      status.textContent = `step ${w.index + 1} of ${w.total}: ${ms.toFixed(0)} ms (mean ${(total / (w.index + 1)).toFixed(0)} ms per step)`;
    });
    drawImages($("xt"), out.values, n, 28, 28, cols, 2);
    playground.sample = { ...out, values: [...out.values], request, msPerStep: total / request.steps };
    status.textContent = `${n} samples, ${request.steps} steps of ${request.sampler}: ${(total / request.steps).toFixed(0)} ms per step.`;
    sampling.dataset.state = "done";
  } catch (e) {
    sampling.dataset.state = "error";
    fail("sampling", e);
  } finally {
    button.disabled = false;
  }
});

// ---- Two moons ----
const training = $("training");
let trainer: PointsTrainer | null = null;
const trainStatus = $("train-status");
const toySet = () => $<HTMLSelectElement>("toy-set").value as ToySet;
const showData = () => drawPoints($("points"), toyData(toySet(), 0).xy, null, null);
$("toy-set").addEventListener("change", showData);
showData();
$<HTMLButtonElement>("train").disabled = false;

async function drawMoonSamples(t: PointsTrainer, sampler = "dpmsolver++", steps = 20, guidance = 1) {
  const s = await t.sample(400, sampler, steps, 0, guidance);
  drawPoints($("points"), t.data.xy, s.xy, s.labels);
  return s;
}

$("train-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const button = $<HTMLButtonElement>("train");
  button.disabled = true;
  $<HTMLButtonElement>("moons-sample").disabled = true;
  training.dataset.state = "running";
  try {
    const t = new PointsTrainer({
      data: toySet(),
      learningRate: num("learning-rate"),
      batch: num("batch"),
      threads,
    });
    trainer = t;
    const steps = num("train-steps");
    const every = num("refresh");
    const t0 = performance.now();
    await drawMoonSamples(t);
    for (let s = 1; s <= steps; s++) {
      const loss = await t.step();
      if (s % 10 === 0 || s === steps) {
        drawLoss($("loss"), t.losses);
        const ms = (performance.now() - t0) / s;
        trainStatus.textContent = `step ${s} of ${steps}: loss ${loss.toFixed(4)} (${ms.toFixed(1)} ms per step with redraws)`;
      }
      if (s % every === 0 || s === steps) await drawMoonSamples(t);
    }
    const s = await drawMoonSamples(t);
    const medianDistance = medianDistanceToData(s.xy, s.labels, t.data);
    playground.training = {
      losses: [...t.losses],
      samples: [...s.xy],
      labels: s.labels ? [...s.labels] : [],
      medianDistance,
    };
    trainStatus.textContent += ` Done: samples lie a median ${medianDistance.toFixed(3)} from the data.`;
    training.dataset.state = "done";
  } catch (e) {
    training.dataset.state = "error";
    fail("training", e);
  } finally {
    button.disabled = false;
    $<HTMLButtonElement>("moons-sample").disabled = trainer === null;
  }
});

$("moons-sample-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (!trainer) return;
  try {
    const sampler = $<HTMLSelectElement>("moons-sampler").value;
    await drawMoonSamples(trainer, sampler, num("moons-steps"), num("moons-guidance"));
    trainStatus.textContent = `Sampled with ${sampler}, ${num("moons-steps")} steps.`;
  } catch (e) {
    fail("sampling the moons", e);
  }
});
