/** Activations by diffusers name (`get_activation` in diffusers/models/activations.py) and nn.SiLU. */
import * as T from "../tensor/index.js";
import { LayerError } from "./check.js";
import { Module, type Params } from "./module.js";

/** The activation names accepted in configs (`act_fn`). */
export const ACTIVATIONS = ["silu", "swish", "relu"] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export type Activation = (x: T.Tensor) => T.Tensor;

const table: Record<ActivationName, Activation> = { silu: T.silu, swish: T.silu, relu: T.relu };

export function isActivationName(name: unknown): name is ActivationName {
  return typeof name === "string" && (ACTIVATIONS as readonly string[]).includes(name);
}

/** The activation function called `name`; `field` names the option for the error message. */
export function getActivation(name: string, field = "act_fn"): Activation {
  if (!isActivationName(name)) {
    throw new LayerError(
      `${field}: unknown activation ${JSON.stringify(name)}; expected one of ${ACTIVATIONS.join(", ")}`,
    );
  }
  return table[name];
}

/** SiLU / swish, x * sigmoid(x) (Elfwing et al. 2018); no parameters. */
export class SiLU extends Module {
  forward(_params: Params, x: T.Tensor): T.Tensor {
    return T.silu(x);
  }
}
