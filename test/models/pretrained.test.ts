import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { discoverCases } from "../../src/golden/discover.js";
import { readSafetensorsFile } from "../../src/io/files.js";
import {
  CONFIG_FILE,
  loadPretrained,
  loadPretrainedAs,
  savePretrained,
  WEIGHTS_FILE,
} from "../../src/models/pretrained-node.js";
import { UNet2DModel } from "../../src/models/unet2d.js";
import { makeKey } from "../../src/random/index.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/golden", import.meta.url));
const MODEL_KINDS = ["unet2d", "autoencoder-kl"];
const root = mkdtempSync(path.join(tmpdir(), "diffuse-pretrained-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const fresh = () => mkdtempSync(path.join(root, "m-"));
const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) => bytes(a).equals(bytes(b));

const TINY = {
  in_channels: 2,
  out_channels: 2,
  block_out_channels: [8, 16],
  down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "UpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 4,
  num_class_embeds: 5,
};

describe("diffusers model folders of the golden set", async () => {
  const folders = (await discoverCases(FIXTURES)).filter((c) => MODEL_KINDS.includes(c.kind));

  it("are found", () => {
    expect(folders.length).toBeGreaterThan(0);
  });

  for (const c of folders) {
    it(`${c.id}: loads by _class_name with diffusers' names and shapes; saves the same tensors back`, async () => {
      const config = JSON.parse(readFileSync(path.join(c.dir, CONFIG_FILE), "utf8"));
      const model = await loadPretrained(c.dir);
      expect(model.constructor.name).toBe(config._class_name);
      const original = (await readSafetensorsFile(path.join(c.dir, WEIGHTS_FILE))).tensors;
      const specs = model.parameterSpecs();
      expect(specs.map((s) => s.name).sort()).toEqual([...original.keys()].sort());
      for (const s of specs) expect(s.shape).toEqual(original.get(s.name)!.shape);

      const out = fresh();
      await savePretrained(model, null, out);
      const saved = await readSafetensorsFile(path.join(out, WEIGHTS_FILE));
      expect(saved.metadata).toEqual({ format: "pt" });
      expect([...saved.tensors.keys()].sort()).toEqual([...original.keys()].sort());
      for (const [name, t] of original)
        expect(sameBytes(saved.tensors.get(name)!.data, t.data), name).toBe(true);
      const savedConfig = JSON.parse(readFileSync(path.join(out, CONFIG_FILE), "utf8"));
      expect(savedConfig._class_name).toBe(config._class_name);
      expect(savedConfig._diffusers_version).toBe("0.30.3");
      for (const [k, v] of Object.entries(config))
        if (!k.startsWith("_")) expect(savedConfig[k], k).toEqual(v);
    });
  }
});

describe("savePretrained / loadPretrained", () => {
  it("round-trip a model's parameters exactly, under diffusers' names", async () => {
    const model = new UNet2DModel(TINY, { key: makeKey(11) });
    const dir = fresh();
    await savePretrained(model, null, dir);
    const loaded = await loadPretrainedAs(dir, "UNet2DModel");
    expect(loaded.config).toEqual(model.config);
    const [a, b] = [model.parameters(), loaded.parameters()];
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const name of Object.keys(a)) expect(b[name]!.toArray(), name).toEqual(a[name]!.toArray());
    const names = [...(await readSafetensorsFile(path.join(dir, WEIGHTS_FILE))).tensors.keys()];
    expect(names.sort()).toEqual(
      model
        .parameterSpecs()
        .map((s) => s.name)
        .sort(),
    );
  });

  it("saves the parameters it is given rather than the held ones", async () => {
    const model = new UNet2DModel(TINY);
    const other = new UNet2DModel(TINY, { key: makeKey(99) }).parameters();
    const dir = fresh();
    await savePretrained(model, other, dir);
    const loaded = await loadPretrained(dir);
    expect(loaded.parameters()["conv_in.weight"]!.toArray()).toEqual(other["conv_in.weight"]!.toArray());
  });

  it("names shape mismatches between config and weights, and a bad _class_name", async () => {
    const dir = fresh();
    await savePretrained(new UNet2DModel(TINY), null, dir);
    const configPath = path.join(dir, CONFIG_FILE);
    const config = JSON.parse(readFileSync(configPath, "utf8"));
    writeFileSync(configPath, JSON.stringify({ ...config, in_channels: 3 }));
    await expect(loadPretrained(dir)).rejects.toThrow(
      "conv_in.weight: checkpoint has [8, 2, 3, 3], model expects [8, 3, 3, 3]",
    );
    writeFileSync(configPath, JSON.stringify({ ...config, _class_name: "UNet2DConditionModel" }));
    await expect(loadPretrained(dir)).rejects.toThrow(
      'field "_class_name" is "UNet2DConditionModel"; expected one of UNet2DModel, AutoencoderKL',
    );
    writeFileSync(configPath, JSON.stringify(config));
    await expect(loadPretrainedAs(dir, "AutoencoderKL")).rejects.toThrow(
      "holds a UNet2DModel, expected AutoencoderKL",
    );
    rmSync(path.join(dir, WEIGHTS_FILE));
    await expect(loadPretrained(dir)).rejects.toThrow("does not exist");
  });
});
