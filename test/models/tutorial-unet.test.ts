/**
 * TutorialUNet: the golden folders of kind tutorial-unet under test/fixtures/golden (output, loss and
 * every gradient against the tutorial's PyTorch ImprovedUNet, eager and compiled), its state-dict
 * names, the denoiser wrapper and config errors.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import "../../src/golden/kinds/tutorial-unet.js";
import { discoverCases } from "../../src/golden/discover.js";
import { type GoldenMode, handlerFor } from "../../src/golden/registry.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { readWeights } from "../../src/models/pretrained-node.js";
import { TutorialUNet } from "../../src/models/tutorial-unet.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { rand } from "../helpers.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/golden", import.meta.url));
const MODES: GoldenMode[] = ["eager", "compiled"];

describe("TutorialUNet golden cases", async () => {
  const cases = (await discoverCases(FIXTURES)).filter((c) => c.kind === "tutorial-unet");

  it("has at least one tutorial-unet folder", () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const c of cases) {
    it(`${c.id}: parameter names are the tutorial's state_dict() keys`, async () => {
      const { readFile } = await import("node:fs/promises");
      const config = JSON.parse(await readFile(`${c.dir}/config.json`, "utf8"));
      const want = await readWeights(c.dir, "model.safetensors");
      const model = new TutorialUNet(config);
      const specs = model.parameterSpecs();
      expect(specs.map((s) => s.name).sort()).toEqual(Object.keys(want).sort());
      for (const s of specs) expect(s.shape, s.name).toEqual(want[s.name]!.shape);
    });
    for (const mode of MODES) {
      it(`${c.id} matches the tutorial's PyTorch model, ${mode}`, async () => {
        const result = await handlerFor(c.kind)!(c.data, { dir: c.dir, file: c.file, mode });
        expect(result.detail ?? "").toBe("");
        expect(result.ok).toBe(true);
      });
    }
  }
});

const TINY = {
  _class_name: "TutorialUNet",
  image_channels: 1,
  base_channels: 8,
  channel_multipliers: [1, 2],
  num_res_blocks: 1,
  dropout: 0.5,
  use_attention: [false, true],
  norm_num_groups: 4,
  num_heads: 2,
  sample_size: 8,
};

describe("TutorialUNet as a denoiser", () => {
  it("wraps as a denoiser with the example shape from sample_size and round-trips its config", () => {
    const d = denoiserFromConfig(TINY, makeKey(1));
    expect(d.className).toBe("TutorialUNet");
    expect(d.exampleShape).toEqual([1, 8, 8]);
    expect(denoiserFromConfig(d.toConfig()).toConfig()).toEqual(d.toConfig());
    const x = rand(2, [3, 1, 8, 8]);
    const y = d.forward(d.module.parameters(), x, T.tensor([1, 500, 999], [3], "int32"));
    expect(y.shape).toEqual([3, 1, 8, 8]);
    expect(() =>
      d.forward(d.module.parameters(), x, T.tensor([1], [1], "int32"), T.tensor([0, 0, 0], [3], "int32")),
    ).toThrow(/unconditional/);
  });

  it("dropout is the identity without options and active with a key", () => {
    const m = new TutorialUNet(TINY, { seed: 3 });
    const p = m.parameters();
    const x = rand(4, [2, 1, 8, 8]);
    const t = T.tensor([10, 700], [2], "int32");
    const a = [...m.forward(p, x, t).values()];
    expect([...m.forward(p, x, t).values()]).toEqual(a);
    const b = [...m.forward(p, x, t, { dropoutKey: makeKey(1) }).values()];
    const c = [...m.forward(p, x, t, { dropoutKey: makeKey(2) }).values()];
    expect(b).not.toEqual(a);
    expect(b).not.toEqual(c);
  });

  it("refuses bad configs, naming the field", () => {
    expect(() => new TutorialUNet({ ...TINY, use_attention: [true] })).toThrow(/use_attention/);
    expect(() => new TutorialUNet({ ...TINY, base_channels: 10 })).toThrow(/base_channels.*norm_num_groups/);
    expect(() => new TutorialUNet({ ...TINY, dropout: 1 })).toThrow(/dropout/);
    const m = new TutorialUNet(TINY);
    expect(() => m.forward(m.parameters(), rand(0, [1, 1, 7, 7]), T.scalar(1))).toThrow(/multiples of 2/);
  });
});
