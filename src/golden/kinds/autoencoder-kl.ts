/**
 * Golden kind `autoencoder-kl`: a diffusers `AutoencoderKL` folder with io.json holding an input `x`
 * (`input_shape`) and the encoder's posterior `latent_mean`, `latent_logvar` (`latent_shape`), and a
 * latent `z` with its decoding `decoded` (`decoded_shape`). Each pair present is checked, op by op
 * ("eager") or as one ONNX graph ("compiled").
 */
import type { AutoencoderKL } from "../../models/autoencoder-kl.js";
import { loadPretrainedAs } from "../../models/pretrained-node.js";
import type { Params } from "../../nn/module.js";
import { nodeOrt } from "../../onnx/node.js";
import * as T from "../../tensor/index.js";
import { type ArrayCheck, checkArrays, parseNumberArray, parseTolerance } from "../compare.js";
import { type CaseHandler, registerKind } from "../registry.js";

function shapeField(data: Record<string, unknown>, field: string): number[] {
  const s = parseNumberArray(data[field], field);
  if (!s.every((d) => Number.isInteger(d) && d >= 0))
    throw new Error(`${field} ${JSON.stringify(s)} is not a shape`);
  return s;
}

type Inputs = { x: T.Tensor[]; z: T.Tensor[] };
type Results = { mean: T.Tensor[]; logvar: T.Tensor[]; decoded: T.Tensor[] };

/** Encodes each x and decodes each z (lists of zero or one tensor, so either may be absent). */
function evaluate(model: AutoencoderKL, p: Params, inputs: Inputs): Results {
  const posteriors = inputs.x.map((x) => model.encode(p, x));
  return {
    mean: posteriors.map((q) => q.mean),
    logvar: posteriors.map((q) => q.logvar),
    decoded: inputs.z.map((z) => model.decode(p, z)),
  };
}

export const checkAutoencoderKL: CaseHandler = async (data, { dir, mode }) => {
  const tol = parseTolerance(data.tolerance);
  const model = await loadPretrainedAs(dir, "AutoencoderKL");
  const hasX = data.x !== undefined;
  const hasZ = data.z !== undefined;
  if (!hasX && !hasZ) return { ok: false, detail: "io.json has neither x (to encode) nor z (to decode)" };
  const inputs: Inputs = {
    x: hasX ? [T.tensor(parseNumberArray(data.x, "x"), shapeField(data, "input_shape"))] : [],
    z: hasZ ? [T.tensor(parseNumberArray(data.z, "z"), shapeField(data, "latent_shape"))] : [],
  };
  let got: Results;
  if (mode === "eager") {
    got = evaluate(model, model.parameters(), inputs);
  } else {
    T.setDefaultRuntime(nodeOrt);
    got = await T.compile((p: Params, i: Inputs) => evaluate(model, p, i))(model.parameters(), inputs);
  }
  const checks: ArrayCheck[] = [];
  const add = (name: string, t: T.Tensor | undefined, shapeKey: string) => {
    if (!t || data[name] === undefined) return;
    const want = parseNumberArray(data[name], name);
    const shapes =
      data[shapeKey] === undefined ? undefined : { got: t.shape, want: shapeField(data, shapeKey) };
    checks.push({ name, got: t.values(), want, shapes });
  };
  add("latent_mean", got.mean[0], "latent_shape");
  add("latent_logvar", got.logvar[0], "latent_shape");
  add("decoded", got.decoded[0], "decoded_shape");
  if (checks.length === 0)
    return { ok: false, detail: "io.json has none of latent_mean, latent_logvar, decoded" };
  return checkArrays(checks, tol);
};

registerKind("autoencoder-kl", checkAutoencoderKL);
