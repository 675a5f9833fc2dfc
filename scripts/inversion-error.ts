/**
 * DDIM inversion round trip on MNIST test images (issue 10's "must show"):
 *
 *   npm run inversion-error -- --model runs/mnist-uncond [--n 64] [--steps 10,20,50,100] [--labels]
 *     [--iters K (fixed-point iterations per DDIM step, default 2)] [--method ddim|pf_ode]
 *
 * Inverts the first N test images (pixel range [-1, 1]) to x_T with `pipe.invert`, decodes them with
 * `pipe.reconstruct` (DDIM, eta 0, clipping off, same steps) and prints, per step count, the mean
 * squared error over all pixels, the worst image's MSE and the seconds taken, as JSON lines and a
 * Markdown table. pf_ode (probability-flow ODE, adaptive) ignores the step count: give one. `--labels` gives a class-conditional model the images' true labels.
 */
import { parseArgs } from "node:util";
import { loadMnist } from "../src/data/mnist.js";
import { nodeOrt } from "../src/onnx/node.js";
import { loadPipeline } from "../src/pipelines/pipeline-node.js";
import * as T from "../src/tensor/index.js";
import { setDefaultRuntime } from "../src/tensor/index.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      n: { type: "string" },
      steps: { type: "string" },
      labels: { type: "boolean" },
      iters: { type: "string" },
      method: { type: "string" },
    },
  });
  if (!values.model) throw new Error("--model DIR is required");
  setDefaultRuntime(nodeOrt);
  const n = Number(values.n ?? 64);
  const stepList = (values.steps ?? "10,20,50,100").split(",").map(Number);
  const method = values.method === "pf_ode" ? "pf_ode" : "ddim";
  const data = loadMnist({ split: "test", limit: n });
  const images = T.tensor(data.images, [n, ...data.shape]);
  const pipe = await loadPipeline(values.model);
  const labels = values.labels ? Array.from(data.labels!) : undefined;
  const rows: string[] = [];
  for (const steps of stepList) {
    const start = performance.now();
    const xT = await pipe.invert(images, {
      steps,
      fixedPointIterations: Number(values.iters ?? 2),
      method,
      ...(labels ? { labels } : {}),
      warn: () => {},
    });
    const back = await pipe.reconstruct(xT, { steps, method, ...(labels ? { labels } : {}) });
    const seconds = (performance.now() - start) / 1000;
    const rec = back.samples.values() as Float32Array;
    const per = rec.length / n;
    let total = 0;
    let worst = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = i * per; j < (i + 1) * per; j++) s += (rec[j]! - data.images[j]!) ** 2;
      total += s;
      worst = Math.max(worst, s / per);
    }
    const mse = total / rec.length;
    console.log(JSON.stringify({ method, steps, n, mse, worstImageMse: worst, seconds }));
    rows.push(`| ${steps} | ${mse.toFixed(5)} | ${worst.toFixed(5)} | ${seconds.toFixed(0)} |`);
  }
  console.log(["| steps | MSE | worst image MSE | seconds |", "|---|---|---|---|", ...rows].join("\n"));
}

await main();
