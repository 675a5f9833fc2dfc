import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { JointUNet } from "../../src/models/joint-unet.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { loadJointFolder, saveJointFolder } from "../../src/pipelines/joint-folder-node.js";
import {
  classifyOneShot,
  type JointForward,
  type JointSampler,
  jointSampler,
  jointTimesteps,
  labelEps,
  sampleImagesGivenLabels,
  sampleLabelsGivenImages,
  samplePairs,
} from "../../src/pipelines/joint-sample.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { rand } from "../helpers.js";
import { TINY_JOINT } from "../models/joint-fixture.js";

T.setDefaultRuntime(nodeOrt);
const root = mkdtempSync(path.join(tmpdir(), "diffuse-joint-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const SCHED = { _class_name: "DDPMScheduler", beta_schedule: "squaredcos_cap_v2", num_train_timesteps: 1000 };

/** An eager JointUNet forward that records what it was called with. */
function spy(model: JointUNet): { s: JointSampler; calls: { y: number[]; ty: number[]; tx: number[] }[] } {
  const calls: { y: number[]; ty: number[]; tx: number[] }[] = [];
  const p = model.parameters();
  const forward: JointForward = async (x, tx, y, ty) => {
    calls.push({ y: Array.from(y.values()), ty: Array.from(ty.values()), tx: Array.from(tx.values()) });
    return model.forward(p, x, tx, y, ty);
  };
  const s = jointSampler(model, p, SCHED);
  return { s: { ...s, forward }, calls };
}

describe("joint sampling", () => {
  const model = new JointUNet(TINY_JOINT, { key: makeKey(5) });

  it('label_prediction "sample": the sampler turns y0_hat into eps_y = (y_t - alpha y0_hat) / sigma', async () => {
    const m = new JointUNet({ ...TINY_JOINT, label_prediction: "sample" }, { key: makeKey(6) });
    const p = m.parameters();
    const s = jointSampler(m, p, SCHED);
    const x = rand(1, [2, 1, 8, 8]);
    const y = rand(2, [2, 3]);
    const ty = T.tensor([10, 700], [2], "int32");
    const tx = T.tensor([0, 0], [2], "int32");
    const y0 = m.forward(p, x, tx, y, ty).epsY.values();
    const eps = (await s.forward(x, tx, y, ty)).epsY.values();
    const yv = y.values();
    for (let i = 0; i < 6; i++) {
      const abar = s.alphasCumprod[i < 3 ? 10 : 700]!;
      expect(eps[i]!).toBeCloseTo((yv[i]! - Math.sqrt(abar) * y0[i]!) / Math.sqrt(1 - abar), 3);
    }
    // labelEps is that conversion
    const direct = labelEps(T.tensor(y0, [2, 3]), y, ty, s.alphasCumprod).values();
    for (let i = 0; i < 6; i++) expect(direct[i]!).toBeCloseTo(eps[i]!, 3);
  });

  it("leading timesteps: 1000 / 4 -> 750 500 250 0; a bad count names the range", () => {
    expect(jointTimesteps(1000, 4)).toEqual([750, 500, 250, 0]);
    expect(() => jointTimesteps(1000, 0)).toThrow(/steps is 0; expected an integer in 1..1000/);
  });

  it("p(x | y): images of the right shape; the given label is never changed and stays at t_y = 0", async () => {
    const { s, calls } = spy(model);
    const labels = Int32Array.from([2, 0, 1]);
    const r = await sampleImagesGivenLabels(s, labels, { steps: 3, seed: 1 });
    expect(r.images.length).toBe(3 * 64);
    expect(r.images.every(Number.isFinite)).toBe(true);
    const hot = [-1, -1, 1, 1, -1, -1, -1, 1, -1];
    expect(Array.from(r.y)).toEqual(hot);
    expect(calls.length).toBe(3);
    for (const c of calls) {
      expect(c.y).toEqual(hot);
      expect(c.ty).toEqual([0, 0, 0]);
    }
    expect(calls.map((c) => c.tx[0])).toEqual([666, 333, 0]);
  });

  it("p(x | y) with guidance calls the model unconditionally at t_y = T-1 as well", async () => {
    const { s, calls } = spy(model);
    await sampleImagesGivenLabels(s, Int32Array.from([1]), { steps: 2, guidanceScale: 2 });
    expect(calls.length).toBe(4);
    expect(calls.map((c) => c.ty[0])).toEqual([0, 999, 0, 999]);
  });

  it("p(y | x) and one-shot: [N, dim] label vectors and argmax labels; the image stays at t_x = 0", async () => {
    const { s, calls } = spy(model);
    const images = rand(3, [4, 1, 8, 8]).values() as Float32Array;
    const r = await sampleLabelsGivenImages(s, images, { steps: 2, batchSize: 3 });
    expect(r.y.length).toBe(12);
    expect(r.labels.length).toBe(4);
    expect(r.labels.every((k) => k >= 0 && k < 3)).toBe(true);
    expect(calls.every((c) => c.tx.every((t) => t === 0))).toBe(true);
    const one = await classifyOneShot(s, images);
    expect(one.y0.length).toBe(12);
    expect(one.labels.length).toBe(4);
    expect(calls.at(-1)!.ty).toEqual([999, 999, 999, 999]);
  });

  it("pairs: images, label vectors and labels; t_x = t_y at every step", async () => {
    const { s, calls } = spy(model);
    const r = await samplePairs(s, 2, { steps: 2 });
    expect(r.images.length).toBe(2 * 64);
    expect(r.labels.length).toBe(2);
    for (const c of calls) expect(c.tx).toEqual(c.ty);
  });

  it("bad input errors name the field and the shape", async () => {
    const { s } = spy(model);
    await expect(sampleImagesGivenLabels(s, Int32Array.from([3]))).rejects.toThrow(
      /labels\[0\] is 3; expected a class in 0..2 \(label_dim 3\)/,
    );
    await expect(sampleLabelsGivenImages(s, new Float32Array(100))).rejects.toThrow(
      /images: 100 values are not a whole number of \[1, 8, 8\] images/,
    );
    await expect(samplePairs(s, 0)).rejects.toThrow(/n is 0/);
  });

  it("the same seed gives the same samples (compiled forward)", async () => {
    const s = jointSampler(model, model.parameters(), SCHED, 1);
    const a = await sampleImagesGivenLabels(s, Int32Array.from([0, 1]), { steps: 2, seed: 4 });
    const b = await sampleImagesGivenLabels(s, Int32Array.from([0, 1]), { steps: 2, seed: 4 });
    expect(Array.from(a.images)).toEqual(Array.from(b.images));
  });
});

describe("the joint model folder", () => {
  it("save -> load gives the same class, config and outputs", async () => {
    const model = new JointUNet(TINY_JOINT, { key: makeKey(9) });
    const dir = path.join(root, "m");
    await saveJointFolder(dir, model, model.parameters(), SCHED, { steps: 3 });
    const f = await loadJointFolder(dir);
    expect(f.model.toConfig()).toEqual(model.toConfig());
    expect(f.info.steps).toBe(3);
    expect(f.schedulerConfig).toEqual(SCHED);
    const x = rand(1, [2, 1, 8, 8]);
    const y = rand(2, [2, 3]);
    const t = T.tensor([5, 700], [2], "int32");
    const a = model.forward(model.parameters(), x, t, y, t);
    const b = f.model.forward(f.params, x, t, y, t);
    expect(Array.from(b.epsX.values())).toEqual(Array.from(a.epsX.values()));
    expect(Array.from(b.epsY.values())).toEqual(Array.from(a.epsY.values()));
  });

  it("a folder of another kind is refused, naming the file and the field", async () => {
    const dir = path.join(root, "other");
    const model = new JointUNet(TINY_JOINT);
    await saveJointFolder(dir, model, model.parameters(), SCHED);
    writeFileSync(path.join(dir, "model_index.json"), JSON.stringify({ _class_name: "DDPMPipeline" }));
    await expect(loadJointFolder(dir)).rejects.toThrow(
      /model_index.json.*"_class_name" is "DDPMPipeline"; expected "JointPipeline"/,
    );
  });
});
