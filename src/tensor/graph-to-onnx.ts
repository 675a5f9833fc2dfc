/** Lowers a traced graph to an ONNX model: inputs, constants (initializers), nodes, outputs. */
import { OnnxGraphBuilder } from "../onnx/builder.js";
import { lowerings } from "./lowering.js";
import type { Primitive } from "./primitives.js";
import type { Tensor } from "./tensor.js";
import type { TraceGraph, TraceNode } from "./trace.js";

export interface LoweredModel {
  model: Uint8Array;
  inputNames: string[];
  outputNames: string[];
  nodeCount: number;
}

/** Nodes that some output depends on, in trace (topological) order. */
function liveNodes(graph: TraceGraph, outputs: readonly Tensor[]): TraceNode[] {
  const producer = new Map<Tensor, TraceNode>();
  for (const n of graph.nodes) producer.set(n.output, n);
  const live = new Set<TraceNode>();
  const stack = [...outputs];
  while (stack.length > 0) {
    const t = stack.pop()!;
    const n = producer.get(t.root);
    if (!n || live.has(n)) continue;
    live.add(n);
    stack.push(...n.inputs);
  }
  return graph.nodes.filter((n) => live.has(n));
}

export function lowerGraph(graph: TraceGraph, outputs: readonly Tensor[]): LoweredModel {
  const { builder, inputNames, outputNames } = lowerToBuilder(graph, outputs);
  return {
    model: builder.toModel({ producer: "diffuse" }),
    inputNames,
    outputNames,
    nodeCount: builder.nodeCount,
  };
}

/**
 * The lowering itself: a builder holding the graph (inputs `input_<i>`, outputs `output_<i>`,
 * constants as initializers), for callers that embed it as a subgraph (the ONNX export's Scan body).
 */
export function lowerToBuilder(
  graph: TraceGraph,
  outputs: readonly Tensor[],
): { builder: OnnxGraphBuilder; inputNames: string[]; outputNames: string[] } {
  const b = new OnnxGraphBuilder();
  const names = new Map<Tensor, string>();
  const inputNames = graph.inputs.map((t, i) => {
    const name = b.input(`input_${i}`, t.dtype, t.shape);
    names.set(t, name);
    return name;
  });
  const nameOf = (alias: Tensor): string => {
    const t = alias.root;
    const known = names.get(t);
    if (known) return known;
    if (!t.data)
      throw new Error(`compile: ${t} is used before it is computed (a tensor from another trace?)`);
    const name = b.initializer(t.dtype, t.shape, t.data);
    names.set(t, name);
    return name;
  };
  for (const n of liveNodes(graph, outputs)) {
    const rule = lowerings[n.prim as Primitive] as (...a: unknown[]) => string;
    names.set(n.output, rule(b, n.inputs.map(nameOf), n.inputs, n.params, n.output));
  }
  const used = new Set<string>();
  const outputNames = outputs.map((t, i) => {
    const source = nameOf(t);
    const name = `output_${i}`;
    b.output(name, t.dtype, t.shape, source);
    used.add(source);
    return name;
  });
  return { builder: b, inputNames, outputNames };
}
