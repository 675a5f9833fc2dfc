/**
 * Builds the playground into web/dist, a static folder that needs no network at run time:
 *
 *   npm run web:build        (= tsx web/build.ts)
 *
 * - main.js: web/main.ts bundled by esbuild with diffuse's browser-safe entry (`diffuse/core`, from the
 *   sources through the "diffuse-source" condition); onnxruntime-web's two builds the page chooses
 *   from (lib/backend.ts) are split into chunks of their own, so only the chosen one is fetched;
 * - ort/: ONNX Runtime Web's WebAssembly with its loaders, served from the page's folder: the
 *   threaded SIMD CPU build (ort-wasm-simd-threaded) and the WebGPU build (….asyncify);
 * - model/: the shipped MNIST model (web/model, see scripts/web-model.ts);
 * - index.html, style.css.
 */
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, "dist");
const ortDist = path.dirname(
  createRequire(import.meta.url).resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"),
);

rmSync(out, { recursive: true, force: true });
mkdirSync(path.join(out, "ort"), { recursive: true });
const result = await build({
  entryPoints: [path.join(here, "main.ts")],
  outdir: out,
  chunkNames: "chunks/[name]-[hash]",
  splitting: true,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  // diffuse from its sources; onnxruntime-web loading its WebAssembly from ort/ (not inlined).
  conditions: ["diffuse-source", "onnxruntime-web-use-extern-wasm"],
  sourcemap: true,
  minify: true,
  logLevel: "warning",
  metafile: true,
});
for (const f of [
  "ort-wasm-simd-threaded.wasm",
  "ort-wasm-simd-threaded.mjs",
  "ort-wasm-simd-threaded.asyncify.wasm",
  "ort-wasm-simd-threaded.asyncify.mjs",
]) {
  cpSync(path.join(ortDist, f), path.join(out, "ort", f));
}
cpSync(path.join(here, "model"), path.join(out, "model"), { recursive: true });
for (const f of ["index.html", "style.css"]) cpSync(path.join(here, f), path.join(out, f));
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(
  `web/dist: main.js, its chunks and maps ${(bytes / 1024).toFixed(0)} KiB, ORT WebAssembly, model`,
);
