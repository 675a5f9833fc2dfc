/**
 * `OnnxSession`: runs a serialized ONNX model on an ONNX Runtime binding.
 *
 * The binding is passed in as `OrtLike`, the subset of onnxruntime-common's API used here, so the
 * same code drives onnxruntime-node (see `node.ts`) and onnxruntime-web. Uses no Node-only API.
 */
import { checkTensorData, isOnnxDType, type OnnxArray, type OnnxDType } from "./dtype.js";

/** A tensor as ONNX Runtime exposes it (onnxruntime-common `Tensor`, the fields used here). */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** Session options used here (onnxruntime-common `InferenceSession.SessionOptions`, a subset). */
export interface OrtSessionOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: OnnxOptimizationLevel;
  executionMode?: "sequential" | "parallel";
  executionProviders?: readonly string[];
  enableMemPattern?: boolean;
  enableCpuMemArena?: boolean;
}

/** A created inference session (onnxruntime-common `InferenceSession`, the members used here). */
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(
    feeds: Record<string, OrtTensorLike>,
    fetches: Record<string, OrtTensorLike | null>,
  ): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

/** The subset of an ONNX Runtime module (onnxruntime-node or onnxruntime-web) that diffuse uses. */
export interface OrtLike {
  InferenceSession: {
    create(model: Uint8Array, options?: OrtSessionOptions): Promise<OrtSessionLike>;
  };
  Tensor: {
    new (type: "float32", data: Float32Array, dims: readonly number[]): OrtTensorLike;
    new (type: "int32", data: Int32Array, dims: readonly number[]): OrtTensorLike;
    new (type: "int64", data: BigInt64Array, dims: readonly number[]): OrtTensorLike;
    new (type: "bool", data: Uint8Array, dims: readonly number[]): OrtTensorLike;
  };
}

export type OnnxOptimizationLevel = "disabled" | "basic" | "extended" | "layout" | "all";

/** Options of `OnnxSession.create`. */
export interface OnnxSessionOptions {
  /** Intra-op thread count (ORT's default, all cores, when absent). */
  threads?: number;
  /** Graph optimization level; default "all". */
  optimization?: OnnxOptimizationLevel;
  executionMode?: "sequential" | "parallel";
  /** Execution providers in priority order, e.g. ["cuda", "cpu"]; ORT's default (cpu) when absent. */
  executionProviders?: readonly string[];
  enableMemPattern?: boolean;
}

/** A host tensor passed to or returned from a session. */
export interface OnnxTensor {
  dtype: OnnxDType;
  shape: number[];
  data: OnnxArray;
}

/** Validates a host tensor and wraps it (without copying) as an ORT tensor. */
function toOrt(ort: OrtLike, where: string, t: OnnxTensor): OrtTensorLike {
  checkTensorData(where, t.dtype, t.shape, t.data);
  // The overloads of OrtLike.Tensor pair each dtype with its array; checkTensorData established that.
  return new ort.Tensor(t.dtype as "float32", t.data as Float32Array, t.shape);
}

function fromOrt(name: string, t: OrtTensorLike): OnnxTensor {
  if (!isOnnxDType(t.type)) {
    throw new TypeError(`output "${name}": ORT type got "${t.type}", expected float32, int32, int64 or bool`);
  }
  return { dtype: t.type, shape: [...t.dims], data: t.data as OnnxArray };
}

export class OnnxSession {
  private constructor(
    private readonly ort: OrtLike,
    private readonly session: OrtSessionLike,
  ) {}

  /** Creates a session for a serialized model; rejects with the runtime's reason if it is invalid. */
  static async create(
    ort: OrtLike,
    model: Uint8Array,
    options: OnnxSessionOptions = {},
  ): Promise<OnnxSession> {
    const sessionOptions: OrtSessionOptions = {
      interOpNumThreads: 1,
      graphOptimizationLevel: options.optimization ?? "all",
    };
    if (options.threads !== undefined) sessionOptions.intraOpNumThreads = options.threads;
    if (options.executionMode !== undefined) sessionOptions.executionMode = options.executionMode;
    if (options.executionProviders !== undefined)
      sessionOptions.executionProviders = options.executionProviders;
    if (options.enableMemPattern !== undefined) sessionOptions.enableMemPattern = options.enableMemPattern;
    try {
      return new OnnxSession(ort, await ort.InferenceSession.create(model, sessionOptions));
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new Error(
        `OnnxSession.create: ONNX Runtime rejected the model (${model.length} bytes): ${reason}`,
        {
          cause: e,
        },
      );
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /**
   * Runs the model. Without `outputs`, every graph output is fetched. With `outputs`, exactly the
   * named outputs are fetched: a tensor there is a pre-allocated buffer of the output's exact shape
   * that receives the result (the returned tensor's `data` is that same array), `null` lets the
   * runtime allocate.
   */
  async run(
    feeds: Readonly<Record<string, OnnxTensor>>,
    outputs?: Readonly<Record<string, OnnxTensor | null>>,
  ): Promise<Record<string, OnnxTensor>> {
    const ortFeeds: Record<string, OrtTensorLike> = {};
    for (const name of this.session.inputNames) {
      const t = feeds[name];
      if (t === undefined)
        throw new Error(`run: feed "${name}" is missing, expected inputs ${this.inputList()}`);
      ortFeeds[name] = toOrt(this.ort, `run: feed "${name}"`, t);
    }
    for (const name of Object.keys(feeds)) {
      if (!this.session.inputNames.includes(name)) {
        throw new Error(`run: feed "${name}" is not a model input, expected inputs ${this.inputList()}`);
      }
    }
    const fetches: Record<string, OrtTensorLike | null> = {};
    for (const [name, t] of Object.entries(outputs ?? this.allOutputs())) {
      if (!this.session.outputNames.includes(name)) {
        throw new Error(
          `run: output "${name}" is not a model output, expected one of [${this.session.outputNames}]`,
        );
      }
      fetches[name] = t === null ? null : toOrt(this.ort, `run: output "${name}"`, t);
    }
    let results: Record<string, OrtTensorLike>;
    try {
      results = await this.session.run(ortFeeds, fetches);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new Error(`run: ONNX Runtime failed: ${reason}`, { cause: e });
    }
    const out: Record<string, OnnxTensor> = {};
    for (const name of Object.keys(fetches)) {
      const r = results[name];
      if (r === undefined) throw new Error(`run: ONNX Runtime returned no value for output "${name}"`);
      out[name] = this.collect(name, r, outputs?.[name] ?? null);
    }
    return out;
  }

  /** Frees the native session. */
  release(): Promise<void> {
    return this.session.release();
  }

  /**
   * Converts a result. onnxruntime-common's contract is that a pre-allocated output is written by the
   * runtime (onnxruntime-node 1.30 writes it in place, then also returns a copy in a new array): the
   * caller's array is returned, after checking the result matches it.
   */
  private collect(name: string, r: OrtTensorLike, pre: OnnxTensor | null): OnnxTensor {
    const t = fromOrt(name, r);
    if (pre === null) return t;
    if (t.dtype !== pre.dtype || t.data.length !== pre.data.length) {
      throw new Error(
        `run: output "${name}" is ${t.dtype} [${t.shape}], expected the pre-allocated ${pre.dtype} [${pre.shape}]`,
      );
    }
    return { dtype: pre.dtype, shape: [...t.shape], data: pre.data };
  }

  private allOutputs(): Record<string, null> {
    return Object.fromEntries(this.session.outputNames.map((n) => [n, null]));
  }

  private inputList(): string {
    return `[${this.session.inputNames}]`;
  }
}
