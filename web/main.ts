/**
 * The playground page: wires the controls of index.html to the digit sampler (lib/mnist.ts) and the
 * live 2-D trainer (lib/points.ts). ONNX Runtime Web runs on WebGPU when the browser offers it and on
 * WebAssembly otherwise (lib/backend.ts; `?backend=auto|webgpu|wasm`, the page's backend menu), with
 * WebAssembly threads when the page is cross-origin isolated (the server sends COOP/COEP).
 * `window.playground` exposes the last results (for the browser test and the benchmark); the page
 * itself needs none of it.
 */
import { type OrtLike, setDefaultRuntime } from "diffuse/core";
import {
  loadOrt,
  parseBackendChoice,
  parseSessionOptions,
  resolveBackend,
  webgpuAdapter,
  withProviders,
  withSessionOptions,
} from "./lib/backend.js";
import { runBench, type StepTime, sgemmTimer, unetForwardTimer } from "./lib/bench.js";
import { drawImages, drawLoss, drawPoints, type View } from "./lib/draw.js";
import { fetchPipeline, PAGE_SAMPLERS, sampleDigits } from "./lib/mnist.js";
import { attachDrawing } from "./lib/pointer.js";
import { MIN_DRAWN_POINTS, medianDistanceToData, PointsTrainer, type ToySet, toyData } from "./lib/points.js";
import { yieldingRuntime } from "./lib/yielding.js";

const $ = <E extends HTMLElement>(id: string) => document.getElementById(id) as E;
const num = (id: string) => Number($<HTMLInputElement>(id).value);

function fail(where: string, e: unknown): void {
  const el = $("error");
  el.hidden = false;
  el.textContent = `${where}: ${e instanceof Error ? e.message : String(e)}`;
  console.error(e);
}

const params = new URLSearchParams(location.search);
const threads = Number(
  params.get("threads") ?? (crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency) : 1),
);
const backendChoice = parseBackendChoice(params.get("backend"));
const gpu = await webgpuAdapter();
const backend = resolveBackend(backendChoice, gpu.adapter, gpu.reason);
const ort = await loadOrt(backend, new URL("./ort/", location.href).href, threads);
// The OrtLike surface diffuse uses (InferenceSession.create, Tensor) is onnxruntime-common's.
const sessionOptions = parseSessionOptions(params.get("session"));
const profiled: { endProfiling(): void }[] = [];
const ortLike = withSessionOptions(ort as unknown as OrtLike, sessionOptions, profiled);
/** Sampling: WebGPU first when it is the backend (ORT puts the nodes it lacks on its CPU provider). */
const sampleRuntime = backend === "webgpu" ? withProviders(ortLike, ["webgpu", "wasm"]) : ortLike;
/**
 * Training: the compiled training step runs on the CPU provider by default, even on the WebGPU build.
 * ORT's WebGPU provider does run it (the nodes it lacks go to the CPU provider), but the 2-D model's
 * step is tiny: every step would move all weights and optimizer state to the GPU and back, and on the
 * software adapter tried (SwiftShader) it was several times slower. `?train=webgpu` runs it on WebGPU.
 */
const trainOnGpu = backend === "webgpu" && params.get("train") === "webgpu";
const trainRuntime = withProviders(ortLike, trainOnGpu ? ["webgpu", "wasm"] : ["wasm"]);
const trainLine = trainOnGpu
  ? "training on WebGPU too (?train=webgpu)"
  : "training on WebAssembly (the small step gains nothing from the GPU; ?train=webgpu to try)";
// Each run yields to the browser first so the canvases repaint while a loop runs (lib/yielding.ts).
const pageRuntime = yieldingRuntime(sampleRuntime);
setDefaultRuntime(pageRuntime);

let forwardTimer: Promise<() => Promise<StepTime>> | undefined;
const sgemmTimers = new Map<number, Promise<() => Promise<StepTime>>>();
/** What the test and the benchmark read. */
const playground = {
  threads,
  crossOriginIsolated,
  backend,
  backendChoice,
  sessionOptions,
  trainBackend: trainOnGpu ? "webgpu" : "wasm",
  webgpuAdapter: gpu.adapter,
  webgpuReason: gpu.reason,
  sample: null as null | {
    values: number[];
    shape: number[];
    labels: number[];
    request: unknown;
    msPerStep: number;
  },
  training: null as null | {
    losses: number[];
    samples: number[];
    labels: number[];
    data: number[];
    medianDistance: number;
  },
  /**
   * The parity check of the 2-D model: a two-moons trainer (seed 0) trained `trainSteps` steps on the
   * training runtime, then `n` samples drawn on the sampling runtime (WebGPU when that is the backend).
   * The browser test runs the same in Node and compares.
   */
  toySamples: async (o: { trainSteps: number; n: number; sampler: string; steps: number }) => {
    const t = new PointsTrainer({ threads, runtime: trainRuntime });
    for (let i = 0; i < o.trainSteps; i++) await t.step();
    setDefaultRuntime(sampleRuntime);
    try {
      const t0 = performance.now();
      const s = await t.sample(o.n, o.sampler, o.steps, 0);
      return { xy: [...s.xy], losses: [...t.losses], ms: performance.now() - t0 };
    } finally {
      setDefaultRuntime(pageRuntime);
    }
  },
  /** With `?session={"enableProfiling":true}`: prints every session's ORT profile to the console. */
  endProfiling: () => {
    profiled.forEach((s, i) => {
      console.log(`profile of session ${i}`);
      s.endProfiling();
    });
    return profiled.length;
  },
  /**
   * One timed U-Net forward of the sampling step's batch (lib/bench.ts unetForwardTimer); weights
   * compiled in, or graph inputs with `?weights=inputs`.
   */
  forwardStep: async (): Promise<StepTime> => {
    forwardTimer ??= unetForwardTimer(pipeReady, {
      runtime: sampleRuntime,
      threads,
      frozenWeights: params.get("weights") !== "inputs",
    });
    return (await forwardTimer)();
  },
  /** One timed n x n matmul (lib/bench.ts sgemmTimer; its session built on the first call per n). */
  sgemmStep: async (n: number): Promise<StepTime> => {
    let timer = sgemmTimers.get(n);
    if (!timer) {
      timer = sgemmTimer({ runtime: sampleRuntime, threads, n });
      sgemmTimers.set(n, timer);
    }
    return (await timer)();
  },
  /** Step times (lib/bench.ts) on the plain runtime: no yields to the browser inside the timings. */
  bench: async (o?: { repeats?: number }) => {
    try {
      return await runBench(pipeReady, { runtime: sampleRuntime, trainRuntime, ...o });
    } finally {
      setDefaultRuntime(pageRuntime);
    }
  },
};
(window as unknown as { playground: typeof playground }).playground = playground;

// ---- Runtime line and backend menu ----
const wasmLine = `WebAssembly, ${threads} thread${threads > 1 ? "s" : ""}${
  crossOriginIsolated ? "" : " (page not cross-origin isolated: no threads)"
}`;
$("runtime").textContent =
  backend === "webgpu"
    ? `ONNX Runtime Web ${ort.env.versions.web ?? ""}: sampling on WebGPU (${gpu.adapter}); ${trainLine}, ${wasmLine}.`
    : `ONNX Runtime Web ${ort.env.versions.web ?? ""}: ${wasmLine}; ${
        gpu.adapter ? `WebGPU is available (${gpu.adapter}) but not chosen` : `no WebGPU: ${gpu.reason}`
      }.`;
$("runtime").dataset.backend = backend;
const backendMenu = $<HTMLSelectElement>("backend");
backendMenu.value = backendChoice;
backendMenu.addEventListener("change", () => {
  const next = new URL(location.href);
  next.searchParams.set("backend", backendMenu.value);
  location.assign(next);
});

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

// ---- 2-D points: a toy set or points drawn with the mouse ----
const training = $("training");
let trainer: PointsTrainer | null = null;
const trainStatus = $("train-status");
const pointsCanvas = $<HTMLCanvasElement>("points");
/** The drawn set's fixed view: the canvas spans [-4, 4] x [-3, 3] data units. */
const DRAWN_VIEW: View = { cx: 0, cy: 0, scale: pointsCanvas.width / 8 };
const dataChoice = () => $<HTMLSelectElement>("toy-set").value as ToySet | "drawn";
const drawingHelp = $("drawing-help");
const drawing = attachDrawing(pointsCanvas, DRAWN_VIEW, () => {
  if (dataChoice() !== "drawn") return;
  const xy = Float32Array.from(drawing.points);
  drawPoints(pointsCanvas, xy, null, null, DRAWN_VIEW);
  drawingHelp.textContent = `${xy.length / 2} points drawn${
    xy.length / 2 < MIN_DRAWN_POINTS ? ` (draw at least ${MIN_DRAWN_POINTS})` : ""
  }.`;
});
const showData = () => {
  const drawn = dataChoice() === "drawn";
  drawing.enabled = drawn;
  pointsCanvas.classList.toggle("drawable", drawn);
  $("drawing").hidden = !drawn;
  if (drawn) drawing.clear();
  else drawPoints(pointsCanvas, toyData(dataChoice() as ToySet, 0).xy, null, null);
};
$("toy-set").addEventListener("change", showData);
$("clear-drawing").addEventListener("click", () => drawing.clear());
showData();
$<HTMLButtonElement>("train").disabled = false;

async function drawMoonSamples(t: PointsTrainer, sampler = "dpmsolver++", steps = 20, guidance = 1) {
  const s = await t.sample(400, sampler, steps, 0, guidance);
  drawPoints(pointsCanvas, t.data.xy, s.xy, s.labels, dataChoice() === "drawn" ? DRAWN_VIEW : undefined);
  return s;
}

$("train-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const button = $<HTMLButtonElement>("train");
  button.disabled = true;
  $<HTMLButtonElement>("moons-sample").disabled = true;
  training.dataset.state = "running";
  const choice = dataChoice();
  drawing.enabled = false;
  try {
    const t = new PointsTrainer({
      data: choice === "drawn" ? { xy: drawing.points } : choice,
      learningRate: num("learning-rate"),
      batch: num("batch"),
      threads,
      runtime: yieldingRuntime(trainRuntime),
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
      data: [...t.data.xy],
      medianDistance,
    };
    trainStatus.textContent += ` Done: samples lie a median ${medianDistance.toFixed(3)} from the data.`;
    training.dataset.state = "done";
  } catch (e) {
    training.dataset.state = "error";
    fail("training", e);
  } finally {
    button.disabled = false;
    drawing.enabled = dataChoice() === "drawn";
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
