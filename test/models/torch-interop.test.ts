/**
 * A model saved by diffuse loads in PyTorch with diffusers' parameter names (strict load) and computes
 * the same function. Uses the compact diffusers-layout UNet2D of ../shared/bench/unet2d_torch.py and
 * Debian's python3-torch; skipped where either is absent.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { savePretrained } from "../../src/models/pretrained-node.js";
import { UNet2DModel } from "../../src/models/unet2d.js";
import * as T from "../../src/tensor/index.js";
import { getPreset } from "../../src/train/presets.js";
import { expectClose, rand } from "../helpers.js";
import { announceSkip } from "../optional-packages.js";

const benchDir = resolve(import.meta.dirname, "../../../shared/bench");
const python = "/usr/bin/python3";

function torchAvailable(): boolean {
  if (!existsSync(join(benchDir, "unet2d_torch.py")) || !existsSync(python)) return false;
  try {
    execFileSync(python, ["-c", "import torch"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const TORCH = {
  available: torchAvailable(),
  reason: `needs ${python} with torch (apt-get install python3-torch) and ${join(benchDir, "unet2d_torch.py")}`,
};

describe.skipIf(!announceSkip("PyTorch interop", TORCH))("PyTorch interop", () => {
  it("a saved class-conditional UNet loads strictly in PyTorch and gives the same output", async () => {
    const config = { ...getPreset("unet28").model.config, sample_size: 12, num_class_embeds: 11 };
    const model = new UNet2DModel(config, { seed: 3 });
    const dir = mkdtempSync(join(tmpdir(), "diffuse-torch-"));
    await savePretrained(model, model.parameters(), dir);
    const x = rand(1, [2, 1, 12, 12]);
    const t = T.tensor([7, 900], [2], "int32");
    const labels = T.tensor([3, 10], [2], "int32");
    const ours = model.forward(model.parameters(), x, t, labels).toArray();
    const io = join(dir, "io.json");
    writeFileSync(io, JSON.stringify({ x: x.toArray(), t: t.toArray(), labels: labels.toArray() }));
    const script = [
      "import json, sys, torch",
      `sys.path.insert(0, ${JSON.stringify(benchDir)})`,
      "from unet2d_torch import from_pretrained",
      `m = from_pretrained(${JSON.stringify(dir)})`,
      `d = json.load(open(${JSON.stringify(io)}))`,
      "x = torch.tensor(d['x']).reshape(2, 1, 12, 12)",
      "with torch.no_grad(): y = m(x, torch.tensor(d['t']), torch.tensor(d['labels']))",
      "print(json.dumps(y.flatten().tolist()))",
    ].join("\n");
    const theirs = JSON.parse(execFileSync(python, ["-c", script], { encoding: "utf8" })) as number[];
    expect(theirs.length).toBe(ours.length);
    expectClose(ours, theirs, 1e-4, 1e-5, "diffuse vs PyTorch");
  });
});
