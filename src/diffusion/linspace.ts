/**
 * NumPy's grid helpers, reproduced bit for bit in float64 so that grids built from them (timesteps,
 * Karras / exponential sigmas, beta ramps) match diffusers exactly, including the rounding of
 * exact halves.
 */

/**
 * `np.linspace(start, stop, num)` (endpoint=True): `y[i] = i * step + start` with
 * `step = (stop - start) / (num - 1)`, and the last element set to `stop` exactly.
 * `num = 1` gives `[start]`.
 */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 0) return out;
  const div = num - 1;
  if (div === 0) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / div;
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/**
 * `np.arange(start, stop, step)` for floats: length `ceil((stop - start) / step)`, first two
 * elements `start` and `start + step`, then `start + i * delta` with `delta` the difference of those
 * two (NumPy's `DOUBLE_fill`).
 */
export function arange(start: number, stop: number, step: number): Float64Array {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Float64Array(length);
  if (length === 0) return out;
  out[0] = start;
  if (length === 1) return out;
  out[1] = start + step;
  const delta = out[1] - out[0];
  for (let i = 2; i < length; i++) out[i] = start + i * delta;
  return out;
}

/** `np.round(x)`: round half to even ("banker's rounding"), unlike `Math.round`. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds halves up; step back where that made an odd integer from an exact half.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
