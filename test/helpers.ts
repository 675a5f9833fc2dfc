/** Small deterministic helpers for tests (independent of src/random so they can test it). */
import * as T from "../src/tensor/index.js";

/** A deterministic sequence in [lo, hi) from a linear congruential generator. */
export function lcg(seed: number, n: number, lo = -1, hi = 1): number[] {
  // Mix the seed (murmur3 finaliser) so that nearby seeds give unrelated sequences.
  let s = seed >>> 0;
  s = Math.imul(s ^ (s >>> 16), 0x85ebca6b);
  s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35);
  s = (s ^ (s >>> 16)) >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((s >>> 8) / 2 ** 24) * (hi - lo);
  });
}

/** A float32 tensor of the given shape filled from `lcg`. */
export function rand(seed: number, shape: number[], lo = -1, hi = 1): T.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return T.tensor(lcg(seed, n, lo, hi), shape);
}

/** Values with magnitude in [0.2, 1.2) and random sign: away from the kinks of abs/sign/max. */
export function randAwayFromZero(seed: number, shape: number[]): T.Tensor {
  const mags = lcg(
    seed,
    shape.reduce((a, b) => a * b, 1),
    0.2,
    1.2,
  );
  const signs = lcg(seed + 7, mags.length);
  return T.tensor(
    mags.map((m, i) => (signs[i] < 0 ? -m : m)),
    shape,
  );
}

/** Largest |a - b| - (atol + rtol |b|) over elements (<= 0 means within tolerance), with its index. */
export function worstExcess(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number) {
  let worst = Number.NEGATIVE_INFINITY;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const ex = Math.abs(got[i] - want[i]) - (atol + rtol * Math.abs(want[i]));
    if (!(ex <= worst)) {
      worst = ex;
      at = i;
    }
  }
  return { worst, at, got: got[at], want: want[at] };
}

export function expectClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rtol: number,
  atol: number,
  what = "",
) {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length} != ${want.length}`);
  const w = worstExcess(got, want, rtol, atol);
  if (want.length > 0 && !(w.worst <= 0)) {
    throw new Error(`${what}: element ${w.at} got ${w.got}, want ${w.want} (rtol ${rtol}, atol ${atol})`);
  }
}

/** A tiny class-conditional UNet2DModel (3 classes + null class), random weights. */
export const TINY_COND_UNET = {
  _class_name: "UNet2DModel",
  sample_size: 8,
  in_channels: 1,
  out_channels: 1,
  block_out_channels: [8, 16],
  layers_per_block: 1,
  down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "UpBlock2D"],
  norm_num_groups: 4,
  attention_head_dim: 8,
  num_class_embeds: 4,
};
