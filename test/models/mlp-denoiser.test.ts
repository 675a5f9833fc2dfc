import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/models/config-fields.js";
import { wrapDenoiser } from "../../src/models/denoiser.js";
import { MLPDenoiser, parseMLPDenoiserConfig } from "../../src/models/mlp-denoiser.js";
import { loadDenoiserFolder, saveModelFolder } from "../../src/pipelines/model-folder-node.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { rand } from "../helpers.js";

const root = mkdtempSync(path.join(tmpdir(), "diffuse-mlp-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("MLPDenoiser", () => {
  it("maps [B, D] samples and timesteps to [B, D]", () => {
    const m = new MLPDenoiser({ in_features: 3, hidden_size: 8, num_layers: 2 }).init(makeKey(0));
    const out = m.forward(m.parameters(), rand(1, [5, 3]), T.tensor([0, 10, 20, 30, 999], [5], "int32"));
    expect(out.shape).toEqual([5, 3]);
    expect(out.toArray().every(Number.isFinite)).toBe(true);
  });

  it("depends on the timestep and, when conditional, on the class", () => {
    const m = new MLPDenoiser({ in_features: 2, hidden_size: 8, num_layers: 1, num_class_embeds: 3 }).init(
      makeKey(2),
    );
    const p = m.parameters();
    const x = rand(3, [2, 2]);
    const at = (t: number, y: number) => m.forward(p, x, T.full([2], t), T.full([2], y, "int32")).toArray();
    expect(at(5, 0)).not.toEqual(at(500, 0));
    expect(at(5, 0)).not.toEqual(at(5, 2));
  });

  it("names its parameters like the U-Net's embeddings and blocks", () => {
    const m = new MLPDenoiser({ in_features: 2, hidden_size: 8, num_layers: 2, num_class_embeds: 3 });
    const names = m.parameterSpecs().map((s) => s.name);
    for (const n of [
      "time_embedding.linear_1.weight",
      "class_embedding.weight",
      "input_proj.weight",
      "blocks.1.emb_proj.bias",
      "output_proj.weight",
    ]) {
      expect(names).toContain(n);
    }
  });

  it("rejects missing or unexpected class labels", () => {
    const cond = new MLPDenoiser({ in_features: 2, hidden_size: 4, num_layers: 1, num_class_embeds: 3 });
    const x = rand(1, [2, 2]);
    expect(() => cond.forward(cond.parameters(), x, T.full([2], 1))).toThrow(/class_labels/);
    const plain = new MLPDenoiser({ in_features: 2, hidden_size: 4, num_layers: 1 });
    expect(() => plain.forward(plain.parameters(), x, T.full([2], 1), T.full([2], 0, "int32"))).toThrow(
      /no class embedding/,
    );
  });

  it("validates its config, naming the field", () => {
    expect(() => parseMLPDenoiserConfig({ in_features: 0 })).toThrow(ConfigError);
    expect(() => parseMLPDenoiserConfig({ in_features: 2, act_fn: "gelu" })).toThrow(/act_fn/);
    expect(() => parseMLPDenoiserConfig({})).toThrow(/in_features/);
  });

  it("saves config.json with _class_name and loads back the same weights", async () => {
    const m = new MLPDenoiser({ in_features: 2, hidden_size: 8, num_layers: 2, num_class_embeds: 5 }).init(
      makeKey(7),
    );
    const dir = path.join(root, "pipe");
    await saveModelFolder(dir, wrapDenoiser(m), m.parameters(), { _class_name: "DDPMScheduler" }, {});
    const { denoiser, params } = await loadDenoiserFolder(path.join(dir, "unet"));
    expect(denoiser.toConfig()._class_name).toBe("MLPDenoiser");
    expect(denoiser.numClassEmbeds).toBe(5);
    for (const [name, t] of Object.entries(m.parameters()))
      expect(params[name]!.toArray()).toEqual(t.toArray());
  });
});
