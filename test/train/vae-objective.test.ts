/**
 * The autoencoder objective (vae-objective.ts): the loss equals reconstruction + beta * KL / pixels
 * computed on the host, beta = 0 is the pure reconstruction, the noise is keyed, the scaling factor
 * standardises, and the compiled training step lowers the loss on a fixed batch.
 */
import { describe, expect, it } from "vitest";
import { AutoencoderKL } from "../../src/models/autoencoder-kl.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { makeKey, normal } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { initEma } from "../../src/train/ema.js";
import { initAdamW } from "../../src/train/optim/adamw.js";
import { makeTrainStep } from "../../src/train/step.js";
import { drawVaeInputs, psnr, scalingFactorOf, vaeLoss } from "../../src/train/vae-objective.js";

T.setDefaultRuntime(nodeOrt);

const TINY = {
  in_channels: 1,
  out_channels: 1,
  block_out_channels: [8, 8],
  down_block_types: ["DownEncoderBlock2D", "DownEncoderBlock2D"],
  up_block_types: ["UpDecoderBlock2D", "UpDecoderBlock2D"],
  norm_num_groups: 4,
  latent_channels: 2,
};

describe("vaeLoss", () => {
  const vae = new AutoencoderKL(TINY, { seed: 3 });
  const params = vae.parameters();
  const shape = [2, 1, 8, 8];
  const x = Float32Array.from(normal(makeKey(1), 128), (v) => Math.tanh(v));
  const batch = drawVaeInputs(makeKey(2), x, shape, vae);

  it("draws posterior noise of the latent shape, the same for the same key", () => {
    expect(batch.noise.shape).toEqual([2, 2, 4, 4]);
    const again = drawVaeInputs(makeKey(2), x, shape, vae);
    expect([...(again.noise.values() as Float32Array)]).toEqual([...(batch.noise.values() as Float32Array)]);
  });

  it("is L1 reconstruction + beta * mean KL / pixels (host recomputation)", () => {
    const beta = 0.5;
    const loss = vaeLoss(vae, { reconstruction: "l1", beta })(params, batch).item();
    const post = vae.encode(params, batch.x);
    const mu = post.mean.values() as Float32Array;
    const lv = post.logvar.values() as Float32Array;
    const eps = batch.noise.values() as Float32Array;
    const z = T.tensor(
      Float32Array.from(mu, (m, i) => m + Math.exp(lv[i]! / 2) * eps[i]!),
      [...post.mean.shape],
    );
    const y = vae.decode(params, z).values() as Float32Array;
    let rec = 0;
    for (let i = 0; i < x.length; i++) rec += Math.abs(x[i]! - y[i]!);
    rec /= x.length;
    let kl = 0;
    for (let i = 0; i < mu.length; i++) kl += 0.5 * (mu[i]! ** 2 + Math.exp(lv[i]!) - 1 - lv[i]!);
    kl /= 2 * 64; // mean over the batch of 2, per pixel of 1 x 8 x 8
    expect(loss).toBeCloseTo(rec + beta * kl, 4);
    const l2 = vaeLoss(vae, { reconstruction: "l2", beta: 0 })(params, batch).item();
    let sq = 0;
    for (let i = 0; i < x.length; i++) sq += (x[i]! - y[i]!) ** 2;
    expect(l2).toBeCloseTo(sq / x.length, 4);
  });

  it("the compiled training step lowers the loss on a fixed batch", async () => {
    const lossFn = vaeLoss(vae, { reconstruction: "l1", beta: 1e-6 });
    const step = T.compile(makeTrainStep(lossFn, { ema: { kind: "constant", decay: 0.9 } }));
    let p = params;
    let opt = initAdamW(params);
    let ema = initEma(params);
    const first = lossFn(p, batch).item();
    for (let i = 0; i < 15; i++) {
      const r = await step(p, opt, ema, batch, T.scalar(3e-3));
      p = r.params;
      opt = r.optState;
      ema = r.ema;
    }
    expect(lossFn(p, batch).item()).toBeLessThan(0.8 * first);
  });
});

describe("scalingFactorOf and psnr", () => {
  it("1 / std makes the scaled latents unit-variance", () => {
    const z = Float32Array.from(normal(makeKey(5), 4000), (v) => 3 + 0.25 * v);
    const s = scalingFactorOf(z);
    expect(s).toBeGreaterThan(3.7);
    expect(s).toBeLessThan(4.3);
    expect(() => scalingFactorOf(new Float32Array(10))).toThrow(/std is 0 over 10 values/);
  });

  it("PSNR of images in [-1, 1]: MSE 4e-2 is 20 dB", () => {
    expect(psnr(0.04)).toBeCloseTo(20, 10);
  });
});
