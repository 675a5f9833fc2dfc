/**
 * Golden kind `tutorial-unet`: the seed tutorial's `ImprovedUNet` as a folder with config.json
 * (`_class_name: TutorialUNet` and the constructor's arguments), model.safetensors (its PyTorch
 * `state_dict()`), io.json (input batch, timesteps, output, target, loss) and grads.safetensors
 * (d loss / d parameter). Checked like `unet2d`, eager and compiled, in evaluation mode (no dropout).
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { loadPretrainedAs, WEIGHTS_FILE } from "../../models/pretrained-node.js";
import { fail } from "../../nn/check.js";
import { type CaseHandler, registerKind } from "../registry.js";
import { checkDenoiserCase } from "./unet2d.js";

/**
 * The weights file of a tutorial-unet folder: the tutorial's state_dict as `model.safetensors`, or a
 * folder saved by this project (`diffusion_pytorch_model.safetensors`).
 */
export const TUTORIAL_WEIGHTS_FILE = "model.safetensors";

async function weightsFileIn(dir: string): Promise<string> {
  const exists = (f: string) =>
    stat(path.join(dir, f)).then(
      () => true,
      () => false,
    );
  return (await exists(TUTORIAL_WEIGHTS_FILE)) || !(await exists(WEIGHTS_FILE))
    ? TUTORIAL_WEIGHTS_FILE
    : WEIGHTS_FILE;
}

export const checkTutorialUNet: CaseHandler = async (data, { dir, mode }) => {
  const model = await loadPretrainedAs(dir, "TutorialUNet", await weightsFileIn(dir));
  return checkDenoiserCase(
    (p, x, t, labels) => {
      if (labels) fail(model.label, "tutorial-unet cases have no class labels");
      return model.forward(p, x, t);
    },
    model.parameters(),
    data,
    dir,
    mode,
  );
};

registerKind("tutorial-unet", checkTutorialUNet);
