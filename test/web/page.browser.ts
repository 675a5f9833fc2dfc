/**
 * The playground in a real browser (npm run test:browser): serves web/dist on 127.0.0.1 with the
 * COOP/COEP headers and drives Debian's Chromium headless through playwright-core. It generates
 * digits in the page and compares them with the Node pipeline's for the same model, seed, sampler
 * and steps; trains the two-moons model in the page and checks the loss fell and the samples lie on
 * the data; trains on points drawn with the mouse; saves screenshots into docs/ (the README shows
 * them). The backend: headless Chromium offers no WebGPU adapter by default, so the first page must
 * fall back to WebAssembly and say so; a second Chromium started with --enable-unsafe-webgpu gets
 * SwiftShader's (software) adapter, and there the page must choose WebGPU and sample the 2-D model
 * like Node does (the U-Net is not sampled there: on SwiftShader one U-Net step takes seconds and the
 * first one minutes, see the README). Skips only when no Chromium is found (CHROMIUM_PATH, else
 * /usr/bin/chromium), saying so; a broken page fails.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeOrt } from "../../src/onnx/node.js";
import { loadPipeline } from "../../src/pipelines/pipeline-node.js";
import { setDefaultRuntime } from "../../src/tensor/compile.js";
import { PointsTrainer } from "../../web/lib/points.js";
import { serve } from "../../web/serve.js";

setDefaultRuntime(nodeOrt);

const root = path.resolve(import.meta.dirname, "../..");
const dist = path.join(root, "web", "dist");
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(chromiumPath);
if (!haveChromium) {
  console.warn(
    `browser test SKIPPED: no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
}

type ToyRequest = { trainSteps: number; n: number; sampler: string; steps: number };
type Playground = {
  threads: number;
  crossOriginIsolated: boolean;
  backend: "webgpu" | "wasm";
  trainBackend: "webgpu" | "wasm";
  webgpuAdapter: string | null;
  webgpuReason: string;
  sample: { values: number[]; shape: number[]; labels: number[]; msPerStep: number } | null;
  training: {
    losses: number[];
    samples: number[];
    labels: number[];
    data: number[];
    medianDistance: number;
  } | null;
  toySamples(o: ToyRequest): Promise<{ xy: number[]; losses: number[]; ms: number }>;
};

/** Largest |a - b| over two equally long arrays. */
function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe.skipIf(!haveChromium)("the playground in Chromium", () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  /** Waits until `section` reaches `done`, failing with the page's error line when it reaches `error`. */
  async function finished(section: string, timeout: number): Promise<void> {
    await page.waitForSelector(`#${section}[data-state=done], #${section}[data-state=error]`, { timeout });
    const state = await page.getAttribute(`#${section}`, "data-state");
    if (state !== "done") throw new Error(`the page failed: ${await page.textContent("#error")}`);
  }

  const playground = () => page.evaluate(() => (window as unknown as { playground: Playground }).playground);

  beforeAll(async () => {
    if (!existsSync(path.join(dist, "index.html"))) {
      throw new Error(`${dist}/index.html is missing: build the page first (npm run web:build)`);
    }
    const served = await serve(dist);
    server = served.server;
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    });
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
    await page.goto(served.url);
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it("loads cross-origin isolated, with WebAssembly threads and the model", async () => {
    await page.waitForSelector("#sampling[data-state=ready], #sampling[data-state=error]", {
      timeout: 60_000,
    });
    expect(await page.getAttribute("#sampling", "data-state"), (await page.textContent("#error")) ?? "").toBe(
      "ready",
    );
    const p = await playground();
    expect(p.crossOriginIsolated).toBe(true);
    expect(p.threads).toBeGreaterThanOrEqual(2);
    expect(await page.textContent("#runtime")).toContain("WebAssembly");
    // "auto": WebGPU exactly when the browser hands out an adapter. Headless Chromium without
    // --enable-unsafe-webgpu gives none: the page must fall back to WebAssembly and say why.
    expect(p.backend).toBe(p.webgpuAdapter ? "webgpu" : "wasm");
    if (!p.webgpuAdapter) {
      expect(await page.getAttribute("#runtime", "data-backend")).toBe("wasm");
      expect(await page.textContent("#runtime")).toContain(`no WebGPU: ${p.webgpuReason}`);
    }
  });

  it("draws the same digits as the Node pipeline for the same seed, sampler and steps (<= 1e-4)", async () => {
    const request = { sampler: "dpmsolver++", steps: 10, seed: 11, guidanceScale: 2 };
    await page.selectOption("#sampler", request.sampler);
    await page.fill("#steps", String(request.steps));
    await page.fill("#seed", String(request.seed));
    await page.fill("#guidance", String(request.guidanceScale));
    await page.fill("#per-class", "1");
    await page.click("#generate");
    // Early on: x_t still noisy beside the predicted x0 (the README's picture of the live view).
    await page.waitForFunction(
      () => /^step [23] of 10/.test(document.getElementById("sample-status")?.textContent ?? ""),
      null,
      {
        timeout: 300_000,
      },
    );
    // The canvases' pixels as the page drew them (a screenshot would wait for the page to go idle).
    const png = await page.evaluate(() => {
      const [a, b] = ["xt", "x0"].map((id) => document.getElementById(id) as HTMLCanvasElement);
      const both = document.createElement("canvas");
      both.width = a!.width + 16 + b!.width;
      both.height = Math.max(a!.height, b!.height);
      const ctx = both.getContext("2d")!;
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, both.width, both.height);
      ctx.drawImage(a!, 0, 0);
      ctx.drawImage(b!, a!.width + 16, 0);
      return both.toDataURL("image/png");
    });
    mkdirSync(path.join(root, "docs"), { recursive: true });
    writeFileSync(
      path.join(root, "docs", "playground-denoising.png"),
      Buffer.from(png.split(",")[1]!, "base64"),
    );
    await finished("sampling", 300_000);
    // The threads are real: ORT's WebAssembly runs threads - 1 pthread workers beside the page's thread.
    const p = await playground();
    const ortWorkers = page.workers().filter((w) => w.url().includes("/ort/ort-wasm-simd-threaded"));
    expect(ortWorkers.length, `ORT worker threads for ${p.threads} threads`).toBe(p.threads - 1);
    const got = p.sample!;
    expect(got.shape).toEqual([10, 1, 28, 28]);
    expect(got.labels).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const pipe = await loadPipeline(path.join(root, "web", "model"));
    const want = await pipe.generate({ ...request, labels: got.labels });
    const worst = largestDifference(got.values, want.values());
    console.log(`page vs Node, ${request.sampler} ${request.steps} steps: largest difference ${worst}`);
    expect(worst, "largest |page - node| over the samples").toBeLessThanOrEqual(1e-4);
    // Not a blank picture: digits have ink and background.
    const ink = got.values.filter((v) => v > 0).length / got.values.length;
    expect(ink).toBeGreaterThan(0.05);
    expect(ink).toBeLessThan(0.5);
    expect(await page.textContent("#sample-status")).toMatch(/ms per step/);
    await page.locator("#sampling").screenshot({ path: path.join(root, "docs", "playground-digits.png") });
  });

  it("trains the two-moons model: the loss falls and the samples lie on the moons", async () => {
    await page.fill("#train-steps", "300");
    await page.fill("#refresh", "100");
    await page.click("#train");
    await finished("training", 480_000);
    const t = (await playground()).training!;
    expect(t.losses.length).toBe(300);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(t.losses.slice(0, 20));
    const last = mean(t.losses.slice(-20));
    expect(last, `loss: first 20 steps ${first}, last 20 ${last}`).toBeLessThan(0.75 * first);
    // FFJORD's moons have radius 2 and jitter 0.2; untrained samples lie several units away.
    expect(t.medianDistance).toBeLessThan(0.15);
    // Then sampled again with another sampler from the page's controls.
    await page.selectOption("#moons-sampler", "ddim");
    await page.click("#moons-sample");
    await page.waitForFunction(() =>
      document.getElementById("train-status")?.textContent?.startsWith("Sampled"),
    );
    await page.locator("#training").screenshot({ path: path.join(root, "docs", "playground-moons.png") });
  });

  it("trains on points drawn with the mouse", async () => {
    await page.selectOption("#toy-set", "drawn");
    const canvas = page.locator("#points");
    const box = (await canvas.boundingBox())!;
    const [cx, cy] = [box.x + box.width / 2, box.y + box.height / 2];
    // A circle of radius 80 canvas px (the drawn set's view: 45 px per data unit, centre at 0, 0).
    const R = 80;
    const at = (a: number): [number, number] => [cx + R * Math.cos(a), cy + R * Math.sin(a)];
    await page.mouse.move(...at(0));
    await page.mouse.down();
    for (let k = 1; k <= 48; k++) await page.mouse.move(...at((2 * Math.PI * k) / 48));
    await page.mouse.up();
    // Moving without the button pressed draws nothing.
    await page.mouse.move(cx, cy, { steps: 5 });
    const drawnText = (await page.textContent("#drawing-help")) ?? "";
    const drawn = Number(drawnText.match(/^(\d+) points drawn/)?.[1]);
    // The stroke is 2 pi 80 = 503 px long, one point per 4 px.
    expect(drawn, drawnText).toBeGreaterThan(100);
    expect(drawn).toBeLessThan(140);
    await page.fill("#train-steps", "150");
    await page.fill("#refresh", "150");
    await page.click("#train");
    await finished("training", 300_000);
    const t = (await playground()).training!;
    // The training set is the drawn circle, in data units.
    expect(t.data.length / 2).toBe(drawn);
    const radius = (xy: number[], i: number) => Math.hypot(xy[2 * i]!, xy[2 * i + 1]!);
    for (let i = 0; i < drawn; i++) expect(Math.abs(radius(t.data, i) - R / 45)).toBeLessThan(0.05);
    expect(t.labels).toEqual([]);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(t.losses.slice(-20))).toBeLessThan(0.75 * mean(t.losses.slice(0, 20)));
    // The samples lie on the drawn ring (untrained: spread over several units).
    expect(t.medianDistance).toBeLessThan(0.15);
    await page.locator("#training").screenshot({ path: path.join(root, "docs", "playground-drawn.png") });
  });

  it("reported no page errors, console errors or failed requests", () => {
    expect(problems).toEqual([]);
  });
});

describe.skipIf(!haveChromium)("the playground with a WebGPU adapter (Chromium's SwiftShader)", () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    const served = await serve(dist);
    server = served.server;
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ["--no-sandbox", "--enable-unsafe-webgpu"],
    });
    page = await browser.newPage();
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    });
    await page.goto(served.url);
    await page.waitForSelector("#sampling[data-state=ready], #sampling[data-state=error]", {
      timeout: 60_000,
    });
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it("chooses WebGPU when offered and samples the 2-D model as Node does (<= 1e-4)", async () => {
    const p = await page.evaluate(() => (window as unknown as { playground: Playground }).playground);
    if (!p.webgpuAdapter) {
      // Another Chromium build may offer no software adapter: then the fallback is what is checked.
      console.warn(`WebGPU NOT exercised: ${p.webgpuReason}; checking the WebAssembly fallback`);
      expect(p.backend).toBe("wasm");
    } else {
      expect(p.backend).toBe("webgpu");
      expect(p.trainBackend).toBe("wasm");
      const line = await page.textContent("#runtime");
      expect(line).toContain(`sampling on WebGPU (${p.webgpuAdapter})`);
      expect(line).toContain("training on WebAssembly");
    }
    // Untrained weights (seed 0): the check is the arithmetic, not the picture; 4 steps, 64 points.
    const request: ToyRequest = { trainSteps: 0, n: 64, sampler: "dpmsolver++", steps: 4 };
    const got = await page.evaluate(
      (r) => (window as unknown as { playground: Playground }).playground.toySamples(r),
      request,
    );
    const t = new PointsTrainer({ threads: 2 });
    const want = await t.sample(request.n, request.sampler, request.steps, 0);
    const worst = largestDifference(got.xy, want.xy);
    console.log(
      `2-D model on ${p.backend} vs Node: largest difference ${worst} (data units), sampling took ${got.ms.toFixed(0)} ms`,
    );
    expect(worst, "largest |page - node| over the samples").toBeLessThanOrEqual(1e-4);
    expect(problems).toEqual([]);
  });
});
