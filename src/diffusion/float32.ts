/**
 * Reproducing diffusers' float32 tensors in float64.
 *
 * diffusers builds its schedules as float32 torch tensors. Where the float32 rounding matters (the
 * zero-terminal-SNR rescale divides neighbouring `alphas_cumprod`, SNR near t=0 divides by
 * `1 - abar`), matching diffusers means rounding where torch rounds. `Math.fround(a op b)` on float32
 * inputs equals IEEE float32 `a op b` for + - * / and sqrt (a double has more than 2*24+2 bits, so
 * the double rounding is innocuous), which makes the emulation exact with plain JavaScript numbers.
 */

/**
 * Which arithmetic a schedule is built in: `"float32"` reproduces the float32 tensors diffusers
 * stores (values are still returned in Float64Array); `"float64"` is the exact math in double.
 */
export type Dtype = "float32" | "float64";

/** A rounding step: `Math.fround` for float32, the identity for float64. */
export type Round = (x: number) => number;

const keep: Round = (x) => x;

/** The rounding applied after each operation in the given arithmetic. */
export function rounder(dtype: Dtype): Round {
  return dtype === "float32" ? Math.fround : keep;
}

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** The float32 neighbour of a float32 value `x` towards `dir` (+1 up, -1 down). */
function nextFloat32(x: number, dir: 1 | -1): number {
  if (x === 0) return dir * 2 ** -149;
  f32[0] = x;
  i32[0] += x > 0 === dir > 0 ? 1 : -1;
  return f32[0];
}

/**
 * Float32 fused multiply-add `a * b + c` rounded once, for float32 `a`, `b`, `c`. The product is
 * exact in double; the sum is rounded to double and then to float32, and the one case where that
 * double rounding goes wrong (the double sum sitting exactly on a float32 midpoint while the exact
 * sum is not) is resolved from the sum's rounding error.
 */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = Math.fround(s);
  if (r === s) return r;
  const bb = s - p;
  const err = p - (s - bb) + (c - bb); // exact: p + c = s + err (Knuth's TwoSum)
  if (err === 0) return r;
  const other = nextFloat32(r, r < s ? 1 : -1);
  if (s - r !== other - s) return r; // not a midpoint: the double rounding was harmless
  return err > 0 ? Math.max(r, other) : Math.min(r, other);
}

/** Lanes of torch's float32 `Vectorized` on AVX2 (8) and its loop's unroll factor (2). */
const LANES = 8;
const UNROLL = 2;

/**
 * `torch.linspace(start, end, steps)` (float32, CPU, PyTorch 1.13 as used for the golden files),
 * reproduced to the bit. torch computes `step = (end - start) / (steps - 1)` in float32 and fills
 * element `i` with `start + step * i` below `steps // 2` and `end - step * (steps - 1 - i)` above
 * (both fused multiply-adds), except that the vectorised part of the loop (blocks of 2 x 8 lanes)
 * computes one such base per 8 lanes and adds `k * step` (rounded) for lane `k`. The half is chosen
 * per block of 8. Checked bit-exact against diffusers' `linear` and `scaled_linear` betas (T=1000).
 * With `dtype = "float64"` it is NumPy's `linspace` in double.
 */
export function torchLinspace(start: number, end: number, steps: number, dtype: Dtype): Float64Array {
  const out = new Float64Array(steps);
  if (dtype === "float64") {
    const step = (end - start) / (steps - 1);
    for (let i = 0; i < steps; i++) out[i] = start + i * step;
    if (steps > 0) out[steps - 1] = steps === 1 ? start : end;
    return out;
  }
  const s = Math.fround(start);
  const e = Math.fround(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = Math.fround(Math.fround(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const at = (i: number) => (i < halfway ? fma32(step, i, s) : fma32(-step, steps - 1 - i, e));
  let i = 0;
  for (; i + UNROLL * LANES <= steps; i += UNROLL * LANES) {
    for (let lane0 = i; lane0 < i + UNROLL * LANES; lane0 += LANES) {
      const base = at(lane0);
      out[lane0] = base;
      for (let k = 1; k < LANES; k++) out[lane0 + k] = Math.fround(base + Math.fround(k * step));
    }
  }
  for (; i < steps; i++) out[i] = at(i);
  return out;
}
