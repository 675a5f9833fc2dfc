/**
 * The UNet training step the benchmarks time (bench/unet.ts, profile.ts, train-step-ab.ts): a UNet2D
 * from a diffusers config (seed 0), a random batch (noise "images", an epsilon target, timesteps,
 * labels for class-conditional configs), the MSE loss and AdamW (weight decay 1e-2) in one step.
 */
import { UNet2DModel } from "../src/models/unet2d.js";
import type { UNet2DConfig } from "../src/models/unet2d-config.js";
import type { Params } from "../src/nn/index.js";
import { makeKey, normal, randint } from "../src/random/index.js";
import * as T from "../src/tensor/index.js";
import { initAdamW } from "../src/train/optim/adamw.js";
import { makeTrainStep, NO_EMA } from "../src/train/step.js";

export type UNetBatch = { x: T.Tensor; t: T.Tensor; target: T.Tensor; labels?: T.Tensor };

/** A random batch of `n` examples for `cfg`. */
export function unetBatch(cfg: UNet2DConfig, n: number): UNetBatch {
  const [C, S] = [cfg.in_channels, cfg.sample_size as number];
  const x = T.tensor(normal(makeKey(0), n * C * S * S), [n, C, S, S]);
  const target = T.tensor(normal(makeKey(1), n * C * S * S), [n, C, S, S]);
  const t = T.tensor(randint(makeKey(2), n, 0, 1000), [n], "int32");
  const batch: UNetBatch = { x, t, target };
  if (cfg.num_class_embeds)
    batch.labels = T.tensor(randint(makeKey(3), n, 0, cfg.num_class_embeds), [n], "int32");
  return batch;
}

/** The model, its params, a batch of `n`, the step and forward functions and the step's arguments. */
export function unetStep(cfg: UNet2DConfig, n: number) {
  const model = new UNet2DModel(cfg, { seed: 0 });
  const params: Params = model.parameters();
  const batch = unetBatch(model.config, n);
  const loss = (p: Params, b: UNetBatch) =>
    T.mean(T.square(T.sub(model.forward(p, b.x, b.t, b.labels), b.target)));
  const stepFn = makeTrainStep(loss, { optimizer: { weightDecay: 1e-2 } });
  const forwardFn = (p: Params, b: UNetBatch) => model.forward(p, b.x, b.t, b.labels);
  const stepArgs = [params, initAdamW(params), NO_EMA, batch, T.scalar(1e-4)] as const;
  return { model, params, batch, stepFn, forwardFn, stepArgs };
}
