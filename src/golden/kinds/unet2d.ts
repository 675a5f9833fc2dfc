/**
 * Golden kind `unet2d`: a diffusers `UNet2DModel` folder (config.json, diffusion_pytorch_model.safetensors)
 * with io.json holding an input batch `x` (`input_shape`), integer `timesteps`, optional `class_labels`,
 * the reference `output` (`output_shape`), a `target` and the `loss` mean((output - target)^2); and
 * grads.safetensors with d loss / d parameter for every parameter. Checked: output, loss and every
 * gradient, computed op by op ("eager") or as one ONNX graph of forward + backward ("compiled").
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { loadPretrainedAs, readWeights } from "../../models/pretrained-node.js";
import type { Params } from "../../nn/module.js";
import { nodeOrt } from "../../onnx/node.js";
import * as T from "../../tensor/index.js";
import { type ArrayCheck, checkArrays, parseNumberArray, parseTolerance } from "../compare.js";
import { type CaseHandler, type GoldenMode, registerKind } from "../registry.js";

const GRADS_FILE = "grads.safetensors";

function shapeField(data: Record<string, unknown>, field: string): number[] {
  const s = parseNumberArray(data[field], field);
  if (!s.every((d) => Number.isInteger(d) && d >= 0))
    throw new Error(`${field} ${JSON.stringify(s)} is not a shape`);
  return s;
}

/** Integer-valued numbers become int32 (timesteps, labels), others float32. */
function numbersTensor(values: number[]): T.Tensor {
  const ints = values.every(Number.isInteger);
  return T.tensor(values, [values.length], ints ? "int32" : "float32");
}

interface Outputs {
  output: T.Tensor;
  loss: T.Tensor;
  grads: Params;
}

/** A model's forward as the golden cases call it. */
export type GoldenForward = (p: Params, x: T.Tensor, t: T.Tensor, labels: T.Tensor | null) => T.Tensor;

/** out = model(x, t, labels); loss = mean((out - target)^2); d loss / d params. */
function lossAndGrads(
  model: GoldenForward,
  p: Params,
  x: T.Tensor,
  t: T.Tensor,
  target: T.Tensor,
  labels: T.Tensor[],
) {
  const { value, grads, aux } = T.valueAndGrad((q: Params) => {
    const output = model(q, x, t, labels[0] ?? null);
    return { loss: T.mean(T.square(T.sub(output, target))), aux: output };
  })(p);
  return { output: aux, loss: value, grads };
}

async function run(
  model: GoldenForward,
  mode: GoldenMode,
  args: [Params, T.Tensor, T.Tensor, T.Tensor, T.Tensor[]],
) {
  if (mode === "eager") return lossAndGrads(model, ...args) as Outputs;
  T.setDefaultRuntime(nodeOrt);
  const step = T.compile((...a: typeof args) => lossAndGrads(model, ...a));
  return (await step(...args)) as Outputs;
}

/**
 * Checks output, loss and (when `grads.safetensors` exists) every parameter gradient of `forward` at
 * `params` against an io.json case of the unet2d layout.
 */
export async function checkDenoiserCase(
  forward: GoldenForward,
  params: Params,
  data: Record<string, unknown>,
  dir: string,
  mode: GoldenMode,
): ReturnType<CaseHandler> {
  const tol = parseTolerance(data.tolerance);
  const x = T.tensor(parseNumberArray(data.x, "x"), shapeField(data, "input_shape"));
  const t = numbersTensor(parseNumberArray(data.timesteps, "timesteps"));
  const labels =
    data.class_labels === undefined || data.class_labels === null
      ? []
      : [T.cast(numbersTensor(parseNumberArray(data.class_labels, "class_labels")), "int32")];
  const outShape = shapeField(data, "output_shape");
  const target = T.tensor(parseNumberArray(data.target, "target"), outShape);
  const got = await run(forward, mode, [params, x, t, target, labels]);
  const checks: ArrayCheck[] = [
    {
      name: "output",
      got: got.output.values(),
      want: parseNumberArray(data.output, "output"),
      shapes: { got: got.output.shape, want: outShape },
    },
  ];
  if (typeof data.loss === "number") checks.push({ name: "loss", got: [got.loss.item()], want: [data.loss] });
  const gradsPath = path.join(dir, GRADS_FILE);
  if (
    await stat(gradsPath).then(
      () => true,
      () => false,
    )
  ) {
    const want = await readWeights(dir, GRADS_FILE);
    const names = new Set([...Object.keys(want), ...Object.keys(got.grads)]);
    for (const name of [...names].sort()) {
      if (!want[name] || !got.grads[name]) {
        return {
          ok: false,
          detail: `gradient of ${name}: ${want[name] ? "not computed" : `not in ${GRADS_FILE}`}`,
        };
      }
      checks.push({
        name: `grad ${name}`,
        got: got.grads[name]!.values(),
        want: want[name]!.values(),
        shapes: { got: got.grads[name]!.shape, want: want[name]!.shape },
      });
    }
  }
  return checkArrays(checks, tol);
}

export const checkUNet2D: CaseHandler = async (data, { dir, mode }) => {
  const model = await loadPretrainedAs(dir, "UNet2DModel");
  return checkDenoiserCase((p, x, t, y) => model.forward(p, x, t, y), model.parameters(), data, dir, mode);
};

registerKind("unet2d", checkUNet2D);
