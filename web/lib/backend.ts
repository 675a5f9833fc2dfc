/**
 * Which ONNX Runtime Web build and execution provider the page runs on.
 *
 * - "webgpu": onnxruntime-web's WebGPU build (`onnxruntime-web/webgpu`, ORT's native WebGPU execution
 *   provider compiled to WebAssembly, ort-wasm-simd-threaded.asyncify.wasm). Sessions ask for the
 *   "webgpu" provider first; ORT places the nodes that provider does not implement on its CPU
 *   provider ("wasm"), in the same build.
 * - "wasm": the plain threaded SIMD WebAssembly build (`onnxruntime-web/wasm`,
 *   ort-wasm-simd-threaded.wasm), CPU only.
 *
 * Only the chosen build is loaded (a dynamic import: the other one is not fetched). "auto" picks WebGPU
 * when the browser offers it (navigator.gpu hands out an adapter) and WebAssembly otherwise.
 * Browser-safe.
 */
import type { OrtLike, OrtSessionOptions } from "diffuse/core";
import type * as OrtWeb from "onnxruntime-web/wasm";

export type Backend = "webgpu" | "wasm";
export type BackendChoice = Backend | "auto";

/** The WebGPU adapter the browser offers ("vendor architecture description"), or null with why not. */
export async function webgpuAdapter(): Promise<{ adapter: string | null; reason: string }> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return { adapter: null, reason: "this browser offers no WebGPU (navigator.gpu is absent)" };
  try {
    const a = (await gpu.requestAdapter()) as { info?: Record<string, string> } | null;
    if (!a) return { adapter: null, reason: "navigator.gpu gave no adapter" };
    const i = a.info ?? {};
    const name = [i.vendor, i.architecture, i.description].filter((s) => s).join(" ") || "unnamed adapter";
    return { adapter: name, reason: "" };
  } catch (e) {
    return { adapter: null, reason: `requesting a WebGPU adapter failed: ${String(e)}` };
  }
}

/** The backend to run: the choice, with "auto" resolved; WebGPU asked for but absent is an error. */
export function resolveBackend(choice: BackendChoice, adapter: string | null, reason: string): Backend {
  if (choice === "wasm") return "wasm";
  if (adapter) return "webgpu";
  if (choice === "webgpu") throw new Error(`backend=webgpu was asked for, but ${reason}`);
  return "wasm";
}

/** Reads `?backend=` (absent: "auto"); anything else is an error naming the accepted values. */
export function parseBackendChoice(value: string | null): BackendChoice {
  if (value === null || value === "") return "auto";
  if (value === "auto" || value === "webgpu" || value === "wasm") return value;
  throw new Error(`the URL parameter backend is "${value}", expected auto, webgpu or wasm`);
}

/** Loads the ORT build of `backend` and points it at the page's own copy of its WebAssembly. */
export async function loadOrt(backend: Backend, wasmBase: string, threads: number): Promise<typeof OrtWeb> {
  const ort: typeof OrtWeb =
    backend === "webgpu" ? await import("onnxruntime-web/webgpu") : await import("onnxruntime-web/wasm");
  ort.env.wasm.wasmPaths = wasmBase;
  ort.env.wasm.numThreads = threads;
  return ort;
}

/** `ort` whose sessions ask for `providers` (in priority order) unless the caller named some. */
export function withProviders(ort: OrtLike, providers: readonly string[]): OrtLike {
  return {
    Tensor: ort.Tensor,
    InferenceSession: {
      create: (model: Uint8Array, options?: OrtSessionOptions) =>
        ort.InferenceSession.create(model, {
          ...options,
          executionProviders: options?.executionProviders ?? providers,
        }),
    },
  };
}
