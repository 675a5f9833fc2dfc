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

/**
 * Extra ONNX Runtime Web session options from `?session=` (a JSON object, e.g.
 * `{"enableCpuMemArena":true}` or `{"extra":{"session":{"intra_op.allow_spinning":"0"}}}`), merged
 * over what diffuse passes; absent or empty: none. For measuring variants of the page against each
 * other (`npm run bench:browser -- --variant ...`); anything but a JSON object is an error.
 */
export function parseSessionOptions(value: string | null): Record<string, unknown> {
  if (value === null || value === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch (e) {
    throw new Error(`the URL parameter session is not JSON (${String(e)}): ${value}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new Error(`the URL parameter session is ${value}, expected a JSON object of session options`);
  }
  return v as Record<string, unknown>;
}

/**
 * `ort` whose sessions get `extra` merged over the options diffuse passes (see parseSessionOptions).
 * With `enableProfiling`, the sessions are also kept in `profiled`: ORT Web prints a session's profile
 * (ORT's JSON events) to the console when its `endProfiling()` is called.
 */
export function withSessionOptions(
  ort: OrtLike,
  extra: Record<string, unknown>,
  profiled: { endProfiling(): void }[] = [],
): OrtLike {
  if (Object.keys(extra).length === 0) return ort;
  return {
    Tensor: ort.Tensor,
    InferenceSession: {
      async create(model: Uint8Array, options?: OrtSessionOptions) {
        const s = await ort.InferenceSession.create(model, { ...options, ...extra } as OrtSessionOptions);
        if (extra.enableProfiling) profiled.push(s as unknown as { endProfiling(): void });
        return s;
      },
    },
  };
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
