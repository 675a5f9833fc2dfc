/**
 * The crashes the fuzzer found (issue 17), each as a fixed case: before the fixes each was a raw
 * TypeError, a plain Error without the file or a silently wrong value.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { decode } from "jpeg-js";
import { afterAll, describe, expect, it } from "vitest";
import { CsvError, csvTable } from "../../src/data/csv.js";
import { InputError, InputFileError } from "../../src/io/input-error.js";
import { decodeJpeg, JpegError } from "../../src/io/jpeg.js";
import { parseSafetensors, serializeSafetensors } from "../../src/io/safetensors.js";
import { ConfigError } from "../../src/models/config-fields.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { loadModelFolder, saveModelFolder } from "../../src/pipelines/model-folder-node.js";
import {
  CheckpointError,
  checkpointPath,
  loadCheckpoint,
  saveCheckpoint,
} from "../../src/train/checkpoint-node.js";
import { initialState } from "../../src/train/trainer.js";
import { makeTargets } from "./targets.js";

const root = mkdtempSync(path.join(tmpdir(), "diffuse-fuzz-regress-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const MLP = { _class_name: "MLPDenoiser", in_features: 2, hidden_size: 8, num_layers: 1 };

describe("crashes found by fuzzing", () => {
  it("jpeg-js throws TypeErrors on some corrupt JPEGs: decodeJpeg turns them into JpegError", async () => {
    const target = (await makeTargets()).find((t) => t.name === "jpeg")!;
    const crashing = fc.sample(target.input, { numRuns: 3000, seed: 5 }).find((b) => {
      try {
        decode(b as Uint8Array, { useTArray: true, formatAsRGBA: true });
      } catch (e) {
        return e instanceof TypeError;
      }
      return false;
    }) as Uint8Array | undefined;
    expect(crashing).toBeDefined();
    expect(() => decodeJpeg(crashing!)).toThrow(JpegError);
    expect(() => decodeJpeg(crashing!)).toThrow(/^jpeg: Cannot (read|set) properties of undefined/);
  });

  it("a checkpoint whose metadata is JSON null: CheckpointError (was a TypeError)", async () => {
    const d = denoiserFromConfig(MLP);
    const dir = path.join(root, "ckpt");
    mkdirSync(dir);
    await saveCheckpoint(dir, initialState(d.module.parameters(), 0), {
      config: {} as never,
      model: d.toConfig(),
      elapsed: 0,
    });
    const { tensors } = parseSafetensors(readFileSync(checkpointPath(dir)));
    writeFileSync(checkpointPath(dir), serializeSafetensors(tensors, { diffuse_checkpoint: "null" }));
    await expect(loadCheckpoint(dir)).rejects.toThrow(CheckpointError);
    await expect(loadCheckpoint(dir)).rejects.toThrow(
      /checkpoint\.safetensors: field "diffuse_checkpoint" is null/,
    );
    writeFileSync(
      checkpointPath(dir),
      serializeSafetensors(tensors, {
        diffuse_checkpoint: JSON.stringify({
          format: 1,
          step: 0,
          rng: { key: [1, 2], counter: 0 },
          loader: "x",
        }),
      }),
    );
    await expect(loadCheckpoint(dir)).rejects.toThrow(/field "loader" is "x"; expected \{epoch, index\}/);
  });

  it("model_index.json holding null, and weights that do not fit config.json: errors name the file", async () => {
    const d = denoiserFromConfig(MLP);
    const dir = path.join(root, "model");
    await saveModelFolder(dir, d, d.module.parameters(), { _class_name: "DDPMScheduler" }, {});
    writeFileSync(path.join(dir, "model_index.json"), "null");
    await expect(loadModelFolder(dir)).rejects.toThrow(InputFileError);
    await expect(loadModelFolder(dir)).rejects.toThrow(
      /model index .*model_index\.json is not a JSON object/,
    );
    writeFileSync(path.join(dir, "model_index.json"), "{}");
    writeFileSync(path.join(dir, "unet", "config.json"), JSON.stringify({ ...MLP, hidden_size: 16 }));
    const e = await loadModelFolder(dir).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputFileError);
    expect((e as InputFileError).file).toBe(path.join(dir, "unet", "diffusion_pytorch_model.safetensors"));
  });

  it("a U-Net config without sample_size used as a denoiser: ConfigError (was a plain Error)", () => {
    const unet = {
      block_out_channels: [8],
      down_block_types: ["DownBlock2D"],
      up_block_types: ["UpBlock2D"],
      norm_num_groups: 4,
    };
    expect(() => denoiserFromConfig(unet)).toThrow(ConfigError);
    expect(() => denoiserFromConfig({ _class_name: "Nope" })).toThrow(InputError);
  });

  it("(found reading the code) a CSV integer label beyond int32 is refused (was silently wrapped)", () => {
    const text = "x,label\n1,0\n2,4294967296\n";
    expect(() => csvTable(text, "t.csv", { label: "label" })).toThrow(CsvError);
    expect(() => csvTable(text, "t.csv", { label: "label" })).toThrow(
      /t\.csv: label "4294967296" .* too large/,
    );
  });
});
