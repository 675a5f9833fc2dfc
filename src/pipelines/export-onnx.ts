/**
 * The denoiser as a standalone ONNX model, for other runtimes (onnxruntime in Python, C++, the web):
 *
 *   inputs   sample       float32 [batch, ...example shape]   x_t (the scheduler's scaled model input)
 *            timestep     int32   [batch]                     training timestep index, one per sample
 *            class_labels int32   [batch]                     class-conditional models only
 *   output   model_output float32 [batch, ...example shape]   epsilon / v / x0 (scheduler config's
 *                                                             prediction_type)
 *
 * The weights are constants of the file. `batch` is symbolic: the tensor compiler traces with
 * concrete shapes (its Reshape/Expand operands are constants), so the network is traced for ONE
 * example and wrapped in an ONNX `Scan` over the batch axis (opset 18, Scan-16: the body runs once per
 * example, with no loop state). Every layer of the denoisers here (convolutions, GroupNorm,
 * attention, embeddings, MLP) acts on each example alone, so this equals the batched network up to
 * float rounding; the export test checks that against the compiled forward at two batch sizes.
 * Browser-safe (returns bytes and objects; export-node.ts writes the files).
 */
import type { Denoiser } from "../models/denoiser.js";
import type { Params } from "../nn/module.js";
import { attr, OnnxGraphBuilder } from "../onnx/builder.js";
import { lowerToBuilder } from "../tensor/graph-to-onnx.js";
import * as T from "../tensor/index.js";
import type { ModelInfo } from "./model-info.js";

/** Name of the symbolic batch dimension in the exported model. */
export const BATCH_DIM = "batch";

/** The graph's input and output names. */
export const EXPORT_NAMES = {
  sample: "sample",
  timestep: "timestep",
  classLabels: "class_labels",
  output: "model_output",
} as const;

/** One input or output of the exported model, as the manifest lists it. */
export interface ExportedValue {
  name: string;
  dtype: "float32" | "int32";
  /** Dimensions; "batch" is the symbolic batch size. */
  shape: (number | string)[];
  description: string;
}

/** manifest.json: what a runtime needs to drive the model without diffuse. */
export interface ExportManifest {
  format: "diffuse-onnx-denoiser";
  version: 1;
  /** File names in the export folder. */
  files: { model: string; schedulerConfig: string };
  className: string;
  opset: number;
  inputs: ExportedValue[];
  outputs: ExportedValue[];
  /** The shape of one example: [C, H, W] images or [D] vectors. */
  exampleShape: number[];
  /** "epsilon", "v_prediction" or "sample" (from the scheduler config). */
  predictionType: string;
  /** The data range in model space: images [-1, 1]; vectors are normalised (see `normalization`). */
  valueRange: [number, number] | null;
  /** Vectors: the map from model space back to data units, x * std + mean. */
  normalization: { mean: number[]; std: number[] } | null;
  /** Class-conditional models: real classes 0..numClasses-1, the null class of guidance, names. */
  numClasses: number | null;
  nullClass: number | null;
  classNames: string[] | null;
  /** Number of training timesteps (valid `timestep` values are 0..numTrainTimesteps-1). */
  numTrainTimesteps: number;
}

/** The exported model and its manifest (the model file name is `files.model`). */
export interface ExportedDenoiser {
  model: Uint8Array;
  manifest: ExportManifest;
}

/** Files of an export folder. */
export const EXPORT_FILES = { model: "denoiser.onnx", schedulerConfig: "scheduler_config.json" } as const;

/** The opset the export declares (that of the tensor compiler's lowering). */
const OPSET = 18;

/** The per-example body: x [...example], t [], y [] -> output [...example], weights as constants. */
function lowerBody(denoiser: Denoiser, params: Params, conditional: boolean) {
  const ex = denoiser.exampleShape;
  const one = (v: T.Tensor, shape: number[]) => T.reshape(v, shape);
  const body = (x: T.Tensor, t: T.Tensor, y?: T.Tensor) =>
    one(denoiser.forward(params, one(x, [1, ...ex]), one(t, [1]), y ? one(y, [1]) : undefined), ex);
  const args = [T.full(ex, 0), T.full([], 0, "int32"), ...(conditional ? [T.full([], 0, "int32")] : [])];
  const { graph, outLeaves } = T.trace((...a: T.Tensor[]) => body(a[0]!, a[1]!, a[2]), args);
  return lowerToBuilder(graph, outLeaves);
}

/** Exports `denoiser` with weights `params` (see the file header for the model's signature). */
export function exportDenoiser(
  denoiser: Denoiser,
  params: Params,
  schedulerConfig: Record<string, unknown>,
  info: ModelInfo = {},
): ExportedDenoiser {
  const conditional = denoiser.numClassEmbeds !== null;
  const ex = denoiser.exampleShape;
  const body = lowerBody(denoiser, params, conditional);

  const b = new OnnxGraphBuilder();
  const batched = [BATCH_DIM, ...ex];
  const inputs: ExportedValue[] = [
    { name: EXPORT_NAMES.sample, dtype: "float32", shape: batched, description: "x_t, the model input" },
    {
      name: EXPORT_NAMES.timestep,
      dtype: "int32",
      shape: [BATCH_DIM],
      description: "training timestep index of each example",
    },
  ];
  if (conditional) {
    inputs.push({
      name: EXPORT_NAMES.classLabels,
      dtype: "int32",
      shape: [BATCH_DIM],
      description: "class of each example (the null class: unconditional)",
    });
  }
  for (const v of inputs) b.input(v.name, v.dtype, v.shape);
  b.node(
    "Scan",
    inputs.map((v) => v.name),
    {
      body: attr.graph(body.builder.toGraph("denoiser_one_example")),
      num_scan_inputs: attr.int(inputs.length),
    },
    [EXPORT_NAMES.output],
  );
  const predictionType = String(schedulerConfig.prediction_type ?? "epsilon");
  const output: ExportedValue = {
    name: EXPORT_NAMES.output,
    dtype: "float32",
    shape: batched,
    description: `the network's prediction (${predictionType})`,
  };
  b.output(output.name, "float32", output.shape);
  const model = b.toModel({ producer: "diffuse", graphName: "denoiser", opset: OPSET });

  const image = ex.length === 3;
  const numClasses = conditional ? (info.numClasses ?? denoiser.numClassEmbeds) : null;
  const manifest: ExportManifest = {
    format: "diffuse-onnx-denoiser",
    version: 1,
    files: { ...EXPORT_FILES },
    className: denoiser.className,
    opset: OPSET,
    inputs,
    outputs: [output],
    exampleShape: [...ex],
    predictionType,
    valueRange: image ? [-1, 1] : null,
    normalization: info.normalization
      ? { mean: [...info.normalization.mean], std: [...info.normalization.std] }
      : null,
    numClasses,
    nullClass: conditional ? (info.nullClass ?? null) : null,
    classNames: conditional ? (info.classNames ?? null) : null,
    numTrainTimesteps: Number(schedulerConfig.num_train_timesteps ?? 1000),
  };
  return { model, manifest };
}
