/**
 * `OnnxGraphBuilder`: assembles an ONNX graph node by node and encodes it as a `ModelProto`.
 *
 * The tensor compiler lowers traced primitives through this builder. Every value has a unique
 * name; node inputs must name a value already defined (graph input, initializer or an earlier node's
 * output), so the node list is topologically ordered by construction. Small constants made with
 * `constInt64` / `constInt32` / `constFloat` are deduplicated by value.
 * Defaults: opset 18 of the default domain, IR version 8 (the IR version that introduced opset 18).
 */
import { checkTensorData, type OnnxArray, type OnnxDType } from "./dtype.js";
import {
  type AttributeSpec,
  type AttrValue,
  type DimSpec,
  encodeModel,
  type GraphSpec,
  type NodeSpec,
  type TensorSpec,
  type ValueInfoSpec,
} from "./onnx-proto.js";

export type { OnnxArray, OnnxDType } from "./dtype.js";

/** A tagged attribute value; make one with the `attr` helpers. */
export type OnnxAttr = AttrValue;

/** Helpers that make tagged attribute values. */
export const attr = {
  int: (value: number | bigint): OnnxAttr => ({ type: "INT", value }),
  float: (value: number): OnnxAttr => ({ type: "FLOAT", value }),
  string: (value: string): OnnxAttr => ({ type: "STRING", value }),
  ints: (value: readonly (number | bigint)[]): OnnxAttr => ({ type: "INTS", value: [...value] }),
  floats: (value: readonly number[]): OnnxAttr => ({ type: "FLOATS", value: [...value] }),
  tensor: (dtype: OnnxDType, shape: readonly number[], data: OnnxArray): OnnxAttr => ({
    type: "TENSOR",
    value: checkedTensor("attr.tensor", dtype, shape, data),
  }),
  /** A subgraph (e.g. the body of a Scan), from `OnnxGraphBuilder.toGraph`. */
  graph: (value: GraphSpec): OnnxAttr => ({ type: "GRAPH", value }),
};

/** Default opset of the ONNX domain. */
export const DEFAULT_OPSET = 18;
/** Default IR version: 8 is the first IR version whose models may import opset 18. */
export const DEFAULT_IR_VERSION = 8;

/** Options of `OnnxGraphBuilder.toModel`. */
export interface ToModelOptions {
  opset?: number;
  irVersion?: number;
  producer?: string;
  producerVersion?: string;
  graphName?: string;
}

/** Validates a constant tensor and wraps it as a TensorProto spec. */
function checkedTensor(
  where: string,
  dtype: OnnxDType,
  shape: readonly number[],
  data: OnnxArray,
): TensorSpec {
  checkTensorData(where, dtype, shape, data);
  return { dtype, dims: [...shape], data };
}

interface MutableNode extends NodeSpec {
  inputs: string[];
  outputs: string[];
}

export class OnnxGraphBuilder {
  private readonly nodes: MutableNode[] = [];
  /** Node producing each node-output value. */
  private readonly producer = new Map<string, MutableNode>();
  /** Values renamed by `output`: old name -> graph output name. */
  private readonly aliases = new Map<string, string>();
  private readonly inputs: ValueInfoSpec[] = [];
  private readonly outputs: ValueInfoSpec[] = [];
  private readonly initializers: TensorSpec[] = [];
  private readonly defined = new Set<string>();
  private readonly constCache = new Map<string, string>();
  private counter = 0;

  /** Declares a graph input; dims may be numbers or symbolic names. Returns `name`. */
  input(name: string, dtype: OnnxDType, shape: readonly DimSpec[]): string {
    this.define(name, "input");
    this.inputs.push({ name, dtype, shape: [...shape] });
    return name;
  }

  /**
   * Declares the graph output `name` and returns it. Without `from` (or with `from === name`),
   * `name` must already be defined. With `from`, the node output `from` is renamed to `name` (the
   * old name stays usable as an alias); when `from` is a graph input, an initializer or already a
   * graph output, an Identity node copies it to `name` instead.
   */
  output(name: string, dtype: OnnxDType, shape: readonly DimSpec[], from?: string): string {
    if (this.outputs.some((o) => o.name === name)) {
      throw new Error(`output: name "${name}" is already a graph output, expected each output once`);
    }
    const source = this.resolve(from ?? name);
    if (source === name) this.requireDefined(name, "output");
    else this.bind(name, source);
    this.outputs.push({ name, dtype, shape: [...shape] });
    return name;
  }

  /**
   * Appends a node and returns its output names. `outputs` is a count (names are generated) or
   * explicit names. An empty-string input marks an omitted optional input.
   */
  node(
    opType: string,
    inputs: readonly string[],
    attrs?: Readonly<Record<string, OnnxAttr>>,
    outputs: number | readonly string[] = 1,
  ): string[] {
    const ins = inputs.map((name, i) => {
      if (name !== "") this.requireDefined(name, `node ${opType} input ${i}`);
      return this.resolve(name);
    });
    const names =
      typeof outputs === "number"
        ? Array.from({ length: outputs }, () => this.fresh(opType))
        : outputs.map((o) => this.define(o, `node ${opType} output`));
    const attributes: AttributeSpec[] = Object.entries(attrs ?? {}).map(([name, a]) => ({ name, attr: a }));
    const node: MutableNode = {
      opType,
      inputs: ins,
      outputs: names,
      name: `${names[0] ?? opType}_node`,
      attributes,
    };
    this.nodes.push(node);
    for (const n of names) this.producer.set(n, node);
    return [...names];
  }

  /** Adds a constant tensor to the graph's initializers. Returns its name (generated if absent). */
  initializer(dtype: OnnxDType, shape: readonly number[], data: OnnxArray, name?: string): string {
    const spec = checkedTensor(`initializer ${name ?? ""}`.trim(), dtype, shape, data);
    const n = name === undefined ? this.fresh("init") : this.define(name, "initializer");
    this.initializers.push({ ...spec, name: n });
    return n;
  }

  /** A deduplicated int64 constant (shape operands, axes, pads). Default shape: 1-D of `values.length`. */
  constInt64(values: readonly (number | bigint)[], shape?: readonly number[]): string {
    return this.cachedConst("int64", values, shape, () => BigInt64Array.from(values, (v) => BigInt(v)));
  }

  /** A deduplicated int32 constant. Default shape: 1-D of `values.length`. */
  constInt32(values: readonly number[], shape?: readonly number[]): string {
    return this.cachedConst("int32", values, shape, () => Int32Array.from(values));
  }

  /** A deduplicated float32 constant. Default shape: 1-D of `values.length`. */
  constFloat(values: readonly number[] | Float32Array, shape?: readonly number[]): string {
    const data = Float32Array.from(values);
    // Keyed by float32 bit patterns: distinguishes -0 from 0 and merges doubles that round alike.
    const bits = Array.from(new Uint32Array(data.buffer));
    return this.cachedConst("float32", bits, shape ?? [data.length], () => data);
  }

  /** Number of nodes so far. */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Encodes the graph as a serialized `ModelProto`. */
  toModel(options: ToModelOptions = {}): Uint8Array {
    return encodeModel({
      irVersion: options.irVersion ?? DEFAULT_IR_VERSION,
      opsets: [{ domain: "", version: options.opset ?? DEFAULT_OPSET }],
      producerName: options.producer ?? "diffuse",
      producerVersion: options.producerVersion,
      graph: this.toGraph(options.graphName ?? "main"),
    });
  }

  /** The graph as a `GraphSpec` (a model's main graph, or a subgraph attribute: `attr.graph`). */
  toGraph(name: string): GraphSpec {
    if (this.outputs.length === 0)
      throw new Error("toModel: the graph has no outputs, expected at least one");
    return {
      name,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: this.inputs,
      outputs: this.outputs,
    };
  }

  private cachedConst(
    dtype: OnnxDType,
    key: readonly (number | bigint)[],
    shape: readonly number[] | undefined,
    makeData: () => OnnxArray,
  ): string {
    const dims = shape ?? [key.length];
    const cacheKey = `${dtype}|${dims.join(",")}|${key.join(",")}`;
    const hit = this.constCache.get(cacheKey);
    if (hit !== undefined) return hit;
    const name = this.initializer(dtype, dims, makeData());
    this.constCache.set(cacheKey, name);
    return name;
  }

  /** Makes node output `from` available under the graph output name `name`. */
  private bind(name: string, from: string): void {
    this.requireDefined(from, "output source");
    const node = this.producer.get(from);
    if (node === undefined || this.outputs.some((o) => o.name === from)) {
      this.node("Identity", [from], undefined, [name]);
      return;
    }
    this.define(name, "output");
    node.outputs[node.outputs.indexOf(from)] = name;
    for (const n of this.nodes) n.inputs = n.inputs.map((i) => (i === from ? name : i));
    this.producer.delete(from);
    this.producer.set(name, node);
    this.aliases.set(from, name);
  }

  private resolve(name: string): string {
    return this.aliases.get(name) ?? name;
  }

  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.defined.has(name));
    this.defined.add(name);
    return name;
  }

  private define(name: string, what: string): string {
    if (name === "") throw new Error(`${what}: name is empty, expected a non-empty value name`);
    if (this.defined.has(name))
      throw new Error(`${what}: name "${name}" is already defined, expected a new name`);
    this.defined.add(name);
    return name;
  }

  private requireDefined(name: string, what: string): void {
    if (!this.defined.has(name) && !this.aliases.has(name)) {
      throw new Error(
        `${what}: "${name}" is not defined, expected a graph input, initializer or node output`,
      );
    }
  }
}
