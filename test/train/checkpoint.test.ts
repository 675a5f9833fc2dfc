import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeKey, RngStream } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import {
  checkpointPath,
  loadCheckpoint,
  removeStaleTemporaries,
  saveCheckpoint,
} from "../../src/train/checkpoint-node.js";
import type { TrainConfig } from "../../src/train/config.js";
import { initialState, type TrainState } from "../../src/train/trainer.js";
import { rand } from "../helpers.js";

const root = mkdtempSync(path.join(tmpdir(), "diffuse-ckpt-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function state(seed: number): TrainState {
  const params = { "a.weight": rand(seed, [2, 3]), "b.bias": rand(seed + 1, [4]) };
  const s = initialState(params, 0);
  const rng = new RngStream(makeKey(5));
  rng.next();
  return {
    ...s,
    step: 12,
    optState: { step: T.scalar(12), m: { ...params }, v: T.mapTree((t) => T.square(t), params) },
    ema: { step: T.scalar(12), params: T.mapTree((t) => T.mul(t, 0.5), params) },
    loader: { epoch: 3, index: 16 },
    rng: rng.state(),
  };
}
const info = { config: { steps: 20 } as TrainConfig, model: { _class_name: "MLPDenoiser" }, elapsed: 4.5 };
const flat = (s: TrainState) => T.leaves([s.params, s.optState, s.ema]).map((t) => t.toArray());

describe("checkpoints", () => {
  it("round-trip every tensor, the loader position and the RNG state", async () => {
    const dir = mkdtempSync(path.join(root, "rt-"));
    const s = state(1);
    await saveCheckpoint(dir, s, info);
    const { state: back, meta } = await loadCheckpoint(dir, ["a.weight", "b.bias"]);
    expect(flat(back)).toEqual(flat(s));
    expect(back.loader).toEqual({ epoch: 3, index: 16 });
    expect(RngStream.fromState(back.rng).next()).toEqual(RngStream.fromState(s.rng).next());
    expect(meta).toMatchObject({ step: 12, elapsed: 4.5, config: { steps: 20 } });
  });

  it("ignore and clean up a torn temporary file of an interrupted write", async () => {
    const dir = mkdtempSync(path.join(root, "torn-"));
    await saveCheckpoint(dir, state(2), info);
    const good = readFileSync(checkpointPath(dir));
    const torn = path.join(dir, ".checkpoint.safetensors.0123abcd.tmp");
    writeFileSync(torn, good.subarray(0, 100));
    const { state: back } = await loadCheckpoint(dir);
    expect(flat(back)).toEqual(flat(state(2)));
    expect(await removeStaleTemporaries(dir)).toEqual([".checkpoint.safetensors.0123abcd.tmp"]);
    expect(readdirSync(dir)).toEqual(["checkpoint.safetensors"]);
  });

  it("replace the previous checkpoint whole", async () => {
    const dir = mkdtempSync(path.join(root, "replace-"));
    await saveCheckpoint(dir, state(3), info);
    await saveCheckpoint(dir, state(4), info);
    expect(flat((await loadCheckpoint(dir)).state)).toEqual(flat(state(4)));
    expect(readdirSync(dir)).toEqual(["checkpoint.safetensors"]);
  });

  it("fail with a named error on a truncated file or a foreign safetensors file", async () => {
    const dir = mkdtempSync(path.join(root, "bad-"));
    await saveCheckpoint(dir, state(5), info);
    const file = checkpointPath(dir);
    writeFileSync(file, readFileSync(file).subarray(0, 200));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/checkpoint\.safetensors/);
    const { serializeSafetensors } = await import("../../src/io/safetensors.js");
    writeFileSync(file, serializeSafetensors({ x: { dtype: "F32", shape: [1], data: new Float32Array(1) } }));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/not a diffuse checkpoint/);
  });
});
