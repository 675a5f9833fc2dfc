import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { type Denoiser, denoiserFromConfig } from "../../src/models/denoiser.js";
import type { Params } from "../../src/nn/module.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { MANIFEST_FILE } from "../../src/pipelines/export-node.js";
import { type ExportManifest, exportDenoiser } from "../../src/pipelines/export-onnx.js";
import { saveModelFolder } from "../../src/pipelines/model-folder-node.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { lcg, TINY_COND_UNET as TINY_UNET, worstExcess } from "../helpers.js";

T.setDefaultRuntime(nodeOrt);

const tmp = mkdtempSync(path.join(tmpdir(), "diffuse-export-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SCHEDULER = {
  _class_name: "DDPMScheduler",
  num_train_timesteps: 100,
  beta_schedule: "linear",
  prediction_type: "epsilon",
};

const MLP = {
  _class_name: "MLPDenoiser",
  in_features: 2,
  hidden_size: 16,
  num_layers: 2,
  num_class_embeds: null,
};

/** Runs an exported model on ONNX Runtime for Node (the file, not our session wrapper). */
async function runExported(model: Uint8Array, feeds: Record<string, T.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model);
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) {
    ortFeeds[name] = new ort.Tensor(t.dtype as "float32", t.values() as Float32Array, [...t.shape]);
  }
  const out = await session.run(ortFeeds);
  await session.release();
  return out.model_output!.data as Float32Array;
}

/** Inputs of batch `n`: x_t from a fixed sequence, distinct timesteps, labels cycling (incl. null). */
function inputs(d: Denoiser, n: number, seed: number) {
  const shape = [n, ...d.exampleShape];
  const x = T.tensor(
    lcg(
      seed,
      shape.reduce((a, b) => a * b, 1),
      -2,
      2,
    ),
    shape,
  );
  const t = T.tensor(
    Int32Array.from({ length: n }, (_, i) => (17 + 31 * i) % 100),
    [n],
    "int32",
  );
  const y = d.numClassEmbeds
    ? T.tensor(
        Int32Array.from({ length: n }, (_, i) => i % 4),
        [n],
        "int32",
      )
    : undefined;
  return { x, t, y };
}

async function compareAtBatch(d: Denoiser, params: Params, model: Uint8Array, n: number) {
  const { x, t, y } = inputs(d, n, n);
  const forward = T.compile((p: Params, xx: T.Tensor, tt: T.Tensor, yy?: T.Tensor) =>
    d.forward(p, xx, tt, yy),
  );
  const want = (await forward(params, x, t, ...(y ? [y] : []))).values() as Float32Array;
  const got = await runExported(model, { sample: x, timestep: t, ...(y ? { class_labels: y } : {}) });
  expect(got.length).toBe(want.length);
  const excess = worstExcess(got, want, 1e-4, 1e-5);
  expect(
    excess.worst,
    `batch ${n}: worst element ${excess.at}, got ${excess.got}, want ${excess.want}`,
  ).toBeLessThanOrEqual(0);
}

describe("exportDenoiser", () => {
  it("a class-conditional UNet runs in onnxruntime-node as the compiled forward does, at batch 1 and 3", async () => {
    const d = denoiserFromConfig(TINY_UNET, makeKey(1));
    const params = d.module.parameters();
    const { model, manifest } = exportDenoiser(d, params, SCHEDULER, { numClasses: 3, nullClass: 3 });
    expect(manifest.inputs.map((v) => v.name)).toEqual(["sample", "timestep", "class_labels"]);
    expect(manifest.inputs[0]!.shape).toEqual(["batch", 1, 8, 8]);
    expect(manifest).toMatchObject({
      numClasses: 3,
      nullClass: 3,
      valueRange: [-1, 1],
      numTrainTimesteps: 100,
    });
    await compareAtBatch(d, params, model, 1);
    await compareAtBatch(d, params, model, 3);
  });

  it("an unconditional vector model has no class_labels input and no value range", async () => {
    const d = denoiserFromConfig(MLP, makeKey(2));
    const params = d.module.parameters();
    const { model, manifest } = exportDenoiser(d, params, SCHEDULER, {
      normalization: { mean: [1, 2], std: [3, 4] },
    });
    expect(manifest.inputs.map((v) => v.name)).toEqual(["sample", "timestep"]);
    expect(manifest).toMatchObject({ valueRange: null, numClasses: null, nullClass: null });
    expect(manifest.normalization).toEqual({ mean: [1, 2], std: [3, 4] });
    await compareAtBatch(d, params, model, 2);
    await compareAtBatch(d, params, model, 5);
  });
});

describe("diffuse export", () => {
  it("writes denoiser.onnx, scheduler_config.json and manifest.json for a model folder", async () => {
    const d = denoiserFromConfig(TINY_UNET, makeKey(4));
    const dir = path.join(tmp, "model");
    const info = { numClasses: 3, nullClass: 3, classNames: ["a", "b", "c"] };
    await saveModelFolder(dir, d, d.module.parameters(), SCHEDULER, info);
    const out = path.join(tmp, "exported");
    expect(await main(["export", "--model", dir, "--out", out])).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(out, MANIFEST_FILE), "utf8")) as ExportManifest;
    expect(manifest.classNames).toEqual(["a", "b", "c"]);
    expect(JSON.parse(readFileSync(path.join(out, manifest.files.schedulerConfig), "utf8"))).toEqual(
      SCHEDULER,
    );
    const model = new Uint8Array(readFileSync(path.join(out, manifest.files.model)));
    await compareAtBatch(d, d.module.parameters(), model, 2);
  });

  it("refuses a missing --out (usage error, exit 2) and a missing folder (exit 1), writing nothing", async () => {
    expect(await main(["export", "--model", path.join(tmp, "model")])).toBe(2);
    const out = path.join(tmp, "never");
    expect(await main(["export", "--model", path.join(tmp, "nowhere"), "--out", out])).toBe(1);
    expect(existsSync(out)).toBe(false);
  });
});
