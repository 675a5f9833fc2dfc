import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeSafetensorsFile } from "../../src/io/files.js";
import { JointUNet, LABEL_PREFIX } from "../../src/models/joint-unet.js";
import { WEIGHTS_FILE } from "../../src/models/pretrained-node.js";
import { UNet2DModel } from "../../src/models/unet2d.js";
import type { Params } from "../../src/nn/module.js";
import { nodeOrt } from "../../src/onnx/node.js";
import * as T from "../../src/tensor/index.js";
import { loadCheckpoint } from "../../src/train/checkpoint-node.js";
import { resolveTrainConfig } from "../../src/train/config.js";
import { warmStartFromFolder } from "../../src/train/init-from-node.js";
import { getPreset } from "../../src/train/presets.js";
import { runTraining } from "../../src/train/run-node.js";
import { TINY_JOINT } from "../models/joint-fixture.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), "diffuse-init-from-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A diffusers-layout folder holding `params` as diffusion_pytorch_model.safetensors. */
async function unetFolder(params: Params): Promise<string> {
  const dir = tmp();
  await writeSafetensorsFile(
    path.join(dir, WEIGHTS_FILE),
    Object.fromEntries(
      Object.entries(params).map(([k, v]) => [
        k,
        { dtype: "F32", shape: [...v.shape], data: v.values() as Float32Array },
      ]),
    ),
  );
  return dir;
}

const values = (t: T.Tensor) => Array.from(t.values());
const isLabel = (n: string) => n.startsWith(LABEL_PREFIX);

describe("--init-from: a trained U-Net folder into the JointUNet, by name", () => {
  it("loads every U-Net tensor, skips the class embedding, keeps the label branch's init", async () => {
    // a class-conditional U-Net of the joint model's shape, other weights (seed 5)
    const cond = new UNet2DModel({ ...TINY_JOINT.unet, num_class_embeds: 4 }, { seed: 5 });
    const dir = await unetFolder(cond.parameters());
    const joint = new JointUNet({ ...TINY_JOINT, label_head: "pyramid" }, { seed: 1 });
    const init = joint.parameters();
    const w = await warmStartFromFolder(init, dir, isLabel);
    expect(w.skipped).toEqual(["class_embedding.weight"]);
    expect(w.kept.length).toBeGreaterThan(0);
    expect(w.kept.every(isLabel)).toBe(true);
    expect(w.loaded.length + w.kept.length).toBe(Object.keys(init).length);
    const src = cond.parameters();
    for (const name of w.loaded) expect(values(w.params[name]!)).toEqual(values(src[name]!));
    for (const name of w.kept) expect(w.params[name]).toBe(init[name]);
    // the seeds differ, so the load did change the U-Net's weights
    expect(values(w.params["conv_in.weight"]!)).not.toEqual(values(init["conv_in.weight"]!));
  });

  it("a shape mismatch names the file, the tensor and both shapes; a missing U-Net tensor is an error", async () => {
    const wide = new UNet2DModel({ ...TINY_JOINT.unet, block_out_channels: [8, 12] });
    const dir = await unetFolder(wide.parameters());
    const joint = new JointUNet(TINY_JOINT);
    const file = path.join(dir, WEIGHTS_FILE).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    await expect(warmStartFromFolder(joint.parameters(), dir, isLabel)).rejects.toThrow(
      new RegExp(
        `--init-from ${file}: .*tensor "down_blocks.1.resnets.0.conv1.weight" has shape \\[12, 8, 3, 3\\], the model's is \\[8, 8, 3, 3\\]`,
        "s",
      ),
    );
    const partial = { ...new UNet2DModel(TINY_JOINT.unet).parameters() };
    delete partial["conv_out.bias"];
    await expect(warmStartFromFolder(joint.parameters(), await unetFolder(partial), isLabel)).rejects.toThrow(
      /tensor "conv_out.bias" \(shape \[1\]\) is missing/,
    );
    await expect(warmStartFromFolder(joint.parameters(), tmp(), isLabel)).rejects.toThrow(
      /--init-from .*: no diffusion_pytorch_model.safetensors there; expected a diffusers UNet2DModel folder/,
    );
  });

  it("is refused outside objective joint, naming the field", () => {
    expect(() => resolveTrainConfig({ initFrom: "runs/x/unet" }, () => getPreset("unet28"))).toThrow(
      /field "initFrom" is "runs\/x\/unet" but "objective" is "diffusion"/,
    );
  });
});

describe("--init-from in a joint run", () => {
  T.setDefaultRuntime(nodeOrt);
  it("the run starts from the folder's weights; --resume does not read the folder again", async () => {
    const preset = getPreset("unet28");
    const cond = new UNet2DModel({ ...preset.model.config, num_class_embeds: 11 }, { seed: 9 });
    const init = await unetFolder(cond.parameters());
    const out = tmp();
    const base = {
      dataset: "mnist",
      objective: "joint" as const,
      limit: 8,
      validSize: 0,
      batchSize: 4,
      steps: 2,
      lr: 1e-6,
      warmupSteps: 0,
      checkpointEvery: 1,
      threads: 1,
      out,
    };
    const first = await runTraining(
      { ...base, initFrom: init },
      { haltAfter: 1, progress: { write: () => true, isTTY: false } },
    );
    expect(first.halted).toBe(true);
    const ck = await loadCheckpoint(out);
    expect(ck.meta.config.initFrom).toBe(init);
    // one step at lr 1e-6 (AdamW moves each weight by about lr): still the folder's weights
    const a = ck.state.params["conv_in.weight"]!.values();
    const b = cond.parameters()["conv_in.weight"]!.values();
    expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)))).toBeLessThan(1e-5);
    // the folder is gone: a resume that read it would fail
    rmSync(init, { recursive: true });
    const second = await runTraining(
      { out, resume: true, threads: 1 },
      { progress: { write: () => true, isTTY: false } },
    );
    expect(second.step).toBe(2);
    expect(existsSync(path.join(out, "model_index.json"))).toBe(true);
  }, 300_000);
});
