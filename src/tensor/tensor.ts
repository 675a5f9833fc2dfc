/**
 * Tensor: an n-d array of float32, int32 or bool. A tensor is either concrete (it holds its data; the
 * eager backend computes it op by op in TypeScript) or symbolic (it stands for a value of a graph being
 * traced by `compile`). All computation goes through `bind`, which validates shapes, then evaluates
 * eagerly or extends the trace, and records the application for autodiff.
 */
import type { Aval } from "./aval.js";
import { allocate, type DType, dtypeOfArray, type TypedArray } from "./dtype.js";
import { kernels } from "./kernels/index.js";
import type { Primitive, PrimitiveParams } from "./primitives.js";
import { fmt, type Shape, size } from "./shape.js";
import { shapeRules } from "./shape-rules.js";
import { record } from "./tape.js";
import type { TraceGraph } from "./trace.js";

export class Tensor implements Aval {
  readonly shape: Shape;
  readonly dtype: DType;
  /** The values (row-major) when concrete; null when symbolic. */
  readonly data: TypedArray | null;
  /** The trace this tensor belongs to when symbolic. */
  readonly graph: TraceGraph | null;
  /** For an alias: the tensor whose value this one stands for (the trace knows only that one). */
  readonly root: Tensor;

  constructor(
    shape: Shape,
    dtype: DType,
    data: TypedArray | null,
    graph: TraceGraph | null = null,
    root?: Tensor,
  ) {
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.data = data;
    this.graph = graph;
    this.root = root ?? this;
    if (data && data.length !== size(shape)) {
      throw new RangeError(
        `tensor data has ${data.length} elements but shape ${fmt(shape)} needs ${size(shape)}`,
      );
    }
  }

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return size(this.shape);
  }

  get isSymbolic(): boolean {
    return this.data === null;
  }

  /** The concrete values; throws for a symbolic tensor. */
  values(): TypedArray {
    if (!this.data) {
      throw new Error(
        `tensor ${fmt(this.shape)} is symbolic (inside compile): its values exist only when the compiled function runs`,
      );
    }
    return this.data;
  }

  toArray(): number[] {
    return Array.from(this.values());
  }

  /** The single value of a one-element tensor. */
  item(): number {
    const v = this.values();
    if (v.length !== 1)
      throw new RangeError(`item() needs a one-element tensor, got shape ${fmt(this.shape)}`);
    return v[0];
  }

  /** A new tensor object standing for the same value (distinct identity for autodiff). */
  alias(): Tensor {
    return new Tensor(this.shape, this.dtype, this.data, this.graph, this.root);
  }

  /**
   * Like PyTorch's repr: the values of a small concrete tensor (at most TO_STRING_MAX_VALUES,
   * nested by shape, floats to 4 significant digits), then shape and dtype; a big or symbolic tensor
   * shows only its shape and dtype. `Tensor([[1, 2.5], [3, 4]], [2, 2], float32)`.
   */
  toString(): string {
    const kind = `${fmt(this.shape)}, ${this.dtype}`;
    if (!this.data) return `Tensor(${kind}, symbolic)`;
    if (this.size > TO_STRING_MAX_VALUES) return `Tensor(${kind})`;
    const data = this.data;
    const show = (v: number) =>
      this.dtype === "bool"
        ? String(v !== 0)
        : this.dtype === "int32"
          ? String(v)
          : String(Number(v.toPrecision(4)));
    let at = 0;
    const nest = (axis: number): string => {
      if (axis === this.rank) return show(data[at++]!);
      return `[${Array.from({ length: this.shape[axis]! }, () => nest(axis + 1)).join(", ")}]`;
    };
    return `Tensor(${nest(0)}, ${kind})`;
  }

  /** Node's console.log / util.inspect show the same text (Symbol.for is standard: browser-safe). */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** The most values `Tensor.toString()` prints (PyTorch summarises above 1000; we keep lines short). */
export const TO_STRING_MAX_VALUES = 64;

/** A concrete tensor from a typed array (not copied) or numbers. */
export function fromArray(data: TypedArray | readonly number[], shape: Shape, dtype?: DType): Tensor {
  if (ArrayBuffer.isView(data))
    return new Tensor(shape, dtype ?? dtypeOfArray(data as TypedArray), data as TypedArray);
  const arr = allocate(dtype ?? "float32", data.length);
  arr.set(data as number[]);
  return new Tensor(shape, dtype ?? "float32", arr);
}

/** Applies a primitive: the one door through which all tensor computation passes. */
export function bind<P extends Primitive>(
  prim: P,
  inputs: readonly Tensor[],
  params: PrimitiveParams[P],
): Tensor {
  const out = shapeRules[prim](inputs, params);
  let result: Tensor;
  const graph = inputs.find((t) => t.graph)?.graph ?? null;
  if (graph === null) {
    const data = kernels[prim](
      inputs.map((t) => t.values()),
      inputs,
      params,
      out,
    );
    result = new Tensor(out.shape, out.dtype, data);
  } else {
    for (const t of inputs) {
      if (t.graph && t.graph !== graph) throw new Error(`${prim}: operands come from two different traces`);
    }
    result = new Tensor(out.shape, out.dtype, null, graph);
    graph.nodes.push({ prim, inputs, params, output: result });
  }
  record({ prim, inputs, params, output: result });
  return result;
}
