/**
 * SLEEF's single-precision cosine with 1.0-ulp error bound (`Sleef_cosf8_u10`, the vector function
 * `xcosf_u1` in SLEEF's src/libm/sleefsimdsp.c), reproduced to the bit as its AVX2 build computes it:
 * every multiply-add there (`vmla`, `vfma`, `vfmapn`) is one fused float32 operation. PyTorch's
 * float32 `Vectorized<float>::cos` on AVX2 calls it, so `torch.cos` of a float32 tensor on such a CPU
 * is this function, not a correctly rounded cosine.
 *
 * Only the argument range SLEEF handles with its three-part Cody-Waite reduction (|d| < 125) is
 * modelled; larger or non-finite arguments (which SLEEF sends through a Payne-Hanek reduction) throw.
 */
import { fma32 } from "./float32.js";

const f = Math.fround;

/** pi/2 split into three float32 parts (SLEEF's PI_A2f, PI_B2f, PI_C2f, halved): a Cody-Waite split. */
const HALF_PI_A = f(3.1414794921875 * 0.5);
const HALF_PI_B = f(0.0001131594181060791 * 0.5);
const HALF_PI_C = f(1.984187258941006e-9 * 0.5);
/** SLEEF's TRIGRANGEMAX2f: the largest |d| its three-part reduction serves. */
const RANGE_MAX = 125;
/** 1/pi rounded to float32. */
const INV_PI = f(1 / Math.PI);
/** The minimax coefficients of SLEEF's sin polynomial in s = r^2 (r the reduced argument), as float32. */
const SIN_C7 = f(2.6083159809786594e-6);
const SIN_C5 = f(-0.00019810690719168633);
const SIN_C3 = f(0.00833307858556509);
const SIN_C1 = f(-0.16666659712791443);

/** A float32 double-float `hi + lo` (SLEEF's `vfloat2`). */
type DF = readonly [hi: number, lo: number];

/** Round half to even, as AVX's `_mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT)`. */
function rintEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** SLEEF `dfadd2_vf2_vf2_vf`: `x + y` with the rounding error of the head sum carried exactly. */
function dfAdd2(x: DF, y: number): DF {
  const hi = f(x[0] + y);
  const v = f(hi - x[0]);
  const lo = f(f(f(x[0] - f(hi - v)) + f(y - v)) + x[1]);
  return [hi, lo];
}

/** SLEEF `dfsqu_vf2_vf2` (FMA build): `x^2` as a double-float. */
function dfSquare(x: DF): DF {
  const hi = f(x[0] * x[0]);
  return [hi, fma32(f(x[0] + x[0]), x[1], fma32(x[0], x[0], -hi))];
}

/** SLEEF `dfmul_vf2_vf2_vf2` (FMA build): `x * y` as a double-float. */
function dfMul(x: DF, y: DF): DF {
  const hi = f(x[0] * y[0]);
  return [hi, fma32(x[0], y[1], fma32(x[1], y[0], fma32(x[0], y[0], -hi)))];
}

/** SLEEF `dfmul_vf_vf2_vf2` (FMA build): `x * y` rounded to one float32. */
function dfMulToFloat(x: DF, y: DF): number {
  return fma32(x[0], y[0], fma32(x[1], y[0], f(x[0] * y[1])));
}

/** SLEEF `dfadd_vf2_vf_vf`: `x + y` (|x| >= |y|) as a double-float. */
function dfAddFloats(x: number, y: number): DF {
  const hi = f(x + y);
  return [hi, f(f(x - hi) + y)];
}

/** SLEEF `dfadd_vf2_vf_vf2`: `x + y` (|x| >= |y|) as a double-float. */
function dfAddFast(x: number, y: DF): DF {
  const hi = f(x + y[0]);
  return [hi, f(f(f(x - hi) + y[0]) + y[1])];
}

/**
 * cos(d) for a float32 `d` with |d| < 125, bit-exact to SLEEF `xcosf_u1` built with FMA (AVX2):
 * 1. q = 2 rint(d/pi - 1/2) + 1 (odd), so that r = d - q pi/2 lies in [-pi/2, pi/2] and
 *    cos(d) = -sin(r) when q = 1 (mod 4), sin(r) when q = 3 (mod 4);
 * 2. r as a double-float from the three-part split of pi/2;
 * 3. sin(r) = r (1 + s (c1 + s (c3 + s (c5 + s c7)))), s = r^2, the outer steps in double-float.
 */
export function sleefCosf(d: number): number {
  const x = f(d);
  if (!(Math.abs(x) < RANGE_MAX))
    throw new RangeError(`sleefCosf: argument ${d} is outside the modelled range |d| < ${RANGE_MAX}`);
  const dq = fma32(rintEven(fma32(x, INV_PI, -0.5)), 2, 1);
  let r: DF = [x, 0];
  for (const part of [HALF_PI_A, HALF_PI_B, HALF_PI_C]) r = dfAdd2(r, f(dq * -part));
  const s = dfSquare(r);
  let u = fma32(SIN_C7, s[0], SIN_C5);
  u = fma32(u, s[0], SIN_C3);
  const poly = dfAddFast(1, dfMul(dfAddFloats(SIN_C1, f(u * s[0])), s));
  const sin = dfMulToFloat(r, poly);
  return (dq & 2) === 0 ? -sin : sin;
}
