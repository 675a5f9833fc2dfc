/**
 * `compile(fn)`: trace `fn` over symbolic tensors into a graph of primitives, lower it to ONNX, and run
 * it on ONNX Runtime with one cached session per input signature (tree structure, shapes, dtypes).
 * The runtime is injected (onnxruntime-node in Node, onnxruntime-web in the browser): see
 * `setDefaultRuntime` and src/onnx/node.ts.
 */
import { OnnxSession, type OnnxSessionOptions, type OrtLike } from "../onnx/runtime.js";
import { type LoweredModel, lowerGraph } from "./graph-to-onnx.js";
import { Tensor } from "./tensor.js";
import { TraceGraph } from "./trace.js";
import { leaves, signature, unflatten } from "./tree.js";

let defaultRuntime: OrtLike | null = null;

/** Sets the ONNX Runtime module `compile` uses when none is passed. */
export function setDefaultRuntime(ort: OrtLike): void {
  defaultRuntime = ort;
}

export interface CompileOptions extends OnnxSessionOptions {
  runtime?: OrtLike;
}

/** Tracing alone: the graph of `fn` at the signature of `args` and its output tree. */
export function trace<A extends unknown[], R>(
  fn: (...args: A) => R,
  args: A,
): { graph: TraceGraph; out: R; outLeaves: Tensor[] } {
  const graph = new TraceGraph();
  const symbolic = leaves(args).map((t) => new Tensor(t.shape, t.dtype, null, graph));
  graph.inputs.push(...symbolic);
  const out = fn(...unflatten(args, symbolic));
  return { graph, out, outLeaves: leaves(out) };
}

interface Entry<R> {
  session: OnnxSession;
  lowered: LoweredModel;
  outTree: R;
}

export interface Compiled<A extends unknown[], R> {
  (...args: A): Promise<R>;
  /** The ONNX model for the signature of `args` (for export and inspection). */
  lower(...args: A): LoweredModel;
  /** Number of cached sessions (one per input signature). */
  readonly cacheSize: number;
}

export function compile<A extends unknown[], R>(
  fn: (...args: A) => R,
  options: CompileOptions = {},
): Compiled<A, R> {
  const cache = new Map<string, Promise<Entry<R>>>();

  const lower = (...args: A): LoweredModel & { outTree: R } => {
    const { graph, out, outLeaves } = trace(fn, args);
    return { ...lowerGraph(graph, outLeaves), outTree: out };
  };

  const build = async (args: A): Promise<Entry<R>> => {
    const runtime = options.runtime ?? defaultRuntime;
    if (!runtime) {
      throw new Error(
        "compile: no ONNX Runtime set; import the Node entry of diffuse or call setDefaultRuntime(ort)",
      );
    }
    const lowered = lower(...args);
    const session = await OnnxSession.create(runtime, lowered.model, options);
    return { session, lowered, outTree: lowered.outTree };
  };

  const run = async (...args: A): Promise<R> => {
    const key = signature(args);
    let entry = cache.get(key);
    if (!entry) {
      entry = build(args);
      cache.set(key, entry);
      entry.catch(() => cache.delete(key));
    }
    const { session, lowered, outTree } = await entry;
    const feeds = Object.fromEntries(
      leaves(args).map((t, i) => [
        lowered.inputNames[i],
        { dtype: t.dtype, shape: [...t.shape], data: t.values() },
      ]),
    );
    const results = await session.run(feeds);
    const outs = lowered.outputNames.map((name) => {
      const r = results[name];
      return new Tensor(r.shape, r.dtype as Tensor["dtype"], r.data as Float32Array);
    });
    return unflatten(outTree, outs);
  };

  const compiled = Object.assign(run, { lower });
  Object.defineProperty(compiled, "cacheSize", { get: () => cache.size });
  return compiled as typeof compiled & { readonly cacheSize: number };
}
