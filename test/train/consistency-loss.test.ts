/**
 * Consistency distillation as a pure loss (consistency-loss.ts): the boundary condition
 * f(x, s_min) = x, the teacher's DDIM step, the stop-gradient on the target, compiled = eager, and the
 * grid checks.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { alphasCumprod, betasFor } from "../../src/diffusion/schedules.js";
import { MLPDenoiser } from "../../src/models/mlp-denoiser.js";
import type { Params } from "../../src/nn/module.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { makeKey, normal } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import {
  boundaryCoefficients,
  type ConsistencyConfig,
  consistencyDistillationLoss,
  consistencyFunction,
  consistencyTables,
  drawConsistencyInputs,
  type GridPoint,
  teacherStep,
} from "../../src/train/consistency-loss.js";

beforeAll(() => T.setDefaultRuntime(nodeOrt));

const B = 8;
const D = 3;
const abar = alphasCumprod(betasFor({ num_train_timesteps: 100, beta_schedule: "linear" }));
const tables = consistencyTables(abar, 11);
const net = (seed: number) => {
  const m = new MLPDenoiser({ in_features: D, hidden_size: 16, num_layers: 2 });
  m.init(makeKey(seed));
  return m;
};
const student = net(1);
const teacher = net(2);
const fwd = (p: Params, x: T.Tensor, t: T.Tensor) => student.forward(p, x, t);
const x0 = Float32Array.from(normal(makeKey(5), B * D), (v) => 0.5 * v);
const CFG: ConsistencyConfig = { prediction: "epsilon", distance: "l2" };
const gradLeaves = (g: Params) => T.leaves(g).flatMap((t) => Array.from(t.values() as Float32Array));

/** Every example at grid index n. */
function at(n: number): GridPoint {
  const col = (table: ArrayLike<number>) => T.tensor(new Float32Array(B).fill(table[n]!), [B]);
  return {
    t: T.tensor(new Int32Array(B).fill(tables.grid[n]!), [B], "int32"),
    alpha: col(tables.alpha),
    sigma: col(tables.sigma),
    cSkip: col(tables.cSkip),
    cOut: col(tables.cOut),
  };
}

describe("boundary-condition parametrisation", () => {
  it("c_skip(s_min) = 1 and c_out(s_min) = 0; c_out grows with s", () => {
    expect(tables.cSkip[0]).toBe(1);
    expect(tables.cOut[0]).toBe(0);
    for (let n = 1; n < tables.grid.length; n++) {
      expect(tables.cOut[n]!).toBeGreaterThan(tables.cOut[n - 1]!);
      expect(tables.cSkip[n]!).toBeLessThan(tables.cSkip[n - 1]!);
    }
    const { cSkip, cOut } = boundaryCoefficients(80, 0.002, 0.5);
    expect(cSkip).toBeCloseTo(0.25 / (79.998 ** 2 + 0.25), 12);
    expect(cOut).toBeCloseTo((0.5 * 79.998) / Math.sqrt(0.25 + 6400), 12);
  });

  it("f(x, s_min) = x (VE x = x_t / alpha) whatever the network; elsewhere f depends on it", () => {
    const f = consistencyFunction(fwd, "epsilon");
    const x = T.tensor(normal(makeKey(9), B * D), [B, D]);
    const alpha0 = tables.alpha[0]!;
    const out = f(student.parameters(), x, at(0)).values() as Float32Array;
    const xs = x.values() as Float32Array;
    expect(Array.from(out)).toEqual(Array.from(xs, (v) => Math.fround(v / alpha0)));
    const a = f(student.parameters(), x, at(5)).values();
    const b = f(teacher.parameters(), x, at(5)).values();
    expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)))).toBeGreaterThan(1e-3);
  });
});

describe("consistency-distillation loss", () => {
  const batch = drawConsistencyInputs(makeKey(3), x0, [B, D], tables, teacher.parameters());

  it("draws adjacent grid points (hi = t_{n+1}, lo = t_n)", () => {
    const hi = batch.hi.t.toArray() as number[];
    const lo = batch.lo.t.toArray() as number[];
    hi.forEach((t, i) => {
      const n = Array.from(tables.grid).indexOf(lo[i]!);
      expect(n).toBeGreaterThanOrEqual(0);
      expect(t).toBe(tables.grid[n + 1]);
    });
  });

  it("equals d(f(x_hi), f(DDIM_teacher(x_hi))) computed step by step", () => {
    const f = consistencyFunction(fwd, "epsilon");
    const per = (v: T.Tensor) => T.reshape(v, [B, 1]);
    const xHi = T.add(T.mul(per(batch.hi.alpha), batch.x0), T.mul(per(batch.hi.sigma), batch.noise));
    const eps = student.forward(teacher.parameters(), xHi, batch.hi.t);
    const x0hat = T.div(T.sub(xHi, T.mul(per(batch.hi.sigma), eps)), per(batch.hi.alpha));
    const xLo = T.add(T.mul(per(batch.lo.alpha), x0hat), T.mul(per(batch.lo.sigma), eps));
    const a = f(student.parameters(), xHi, batch.hi).values();
    const b = f(student.parameters(), xLo, batch.lo).values();
    const byHand = Array.from(a, (v, i) => (v - b[i]!) ** 2).reduce((s, v) => s + v, 0) / a.length;
    const loss = consistencyDistillationLoss(fwd, CFG)(student.parameters(), batch).item();
    expect(loss).toBeCloseTo(byHand, 6);
    expect(loss).toBeGreaterThan(0);
    const huber = consistencyDistillationLoss(fwd, { ...CFG, distance: "pseudo-huber", huberC: 0.01 });
    expect(huber(student.parameters(), batch).item()).toBeGreaterThan(0);
  });

  it("sends no gradient through the target: the gradient is that of a constant target", () => {
    const params = student.parameters();
    const loss = consistencyDistillationLoss(fwd, CFG);
    const f = consistencyFunction(fwd, "epsilon");
    const per = (v: T.Tensor) => T.reshape(v, [B, 1]);
    const xHi = T.add(T.mul(per(batch.hi.alpha), batch.x0), T.mul(per(batch.hi.sigma), batch.noise));
    const eps = student.forward(teacher.parameters(), xHi, batch.hi.t);
    const x0hat = T.div(T.sub(xHi, T.mul(per(batch.hi.sigma), eps)), per(batch.hi.alpha));
    const xLo = T.add(T.mul(per(batch.lo.alpha), x0hat), T.mul(per(batch.lo.sigma), eps));
    const constant = T.tensor(Float32Array.from(f(params, xLo, batch.lo).values()), [B, D]);
    const againstConstant = (p: Params) => T.mean(T.square(T.sub(f(p, xHi, batch.hi), constant)));
    // Without the stop-gradient, the target's dependence on theta adds a second term.
    const bothSides = (p: Params) => T.mean(T.square(T.sub(f(p, xHi, batch.hi), f(p, xLo, batch.lo))));
    const g = gradLeaves(T.grad(loss)(params, batch));
    const gConst = gradLeaves(T.grad(againstConstant)(params));
    const gBoth = gradLeaves(T.grad(bothSides)(params));
    const maxDiff = (u: number[], v: number[]) => Math.max(...u.map((x, i) => Math.abs(x - v[i]!)));
    expect(maxDiff(g, gConst)).toBeLessThan(1e-6);
    expect(maxDiff(g, gBoth)).toBeGreaterThan(1e-4);
    // With an EMA target given, its parameters are inputs: the gradient is w.r.t. theta only, and the
    // loss uses the target's f (another network gives another loss).
    const withTarget = { ...batch, target: teacher.parameters() };
    expect(loss(params, withTarget).item()).not.toBeCloseTo(loss(params, batch).item(), 4);
    expect(gradLeaves(T.grad(loss)(params, withTarget)).every(Number.isFinite)).toBe(true);
  });

  it("is the same compiled as eager", async () => {
    const loss = consistencyDistillationLoss(fwd, CFG);
    const eager = loss(student.parameters(), batch).item();
    const compiled = (await T.compile(loss)(student.parameters(), batch)).item();
    expect(compiled).toBeCloseTo(eager, 5);
  });

  it("rejects a grid finer than the teacher's schedule, naming numScales", () => {
    expect(() => consistencyTables(abar, 101)).toThrow(/numScales is 101; expected an integer in \[2, 100\]/);
    expect(() => consistencyTables(abar, 1)).toThrow(/numScales/);
  });
});

describe("the teacher's Heun step (--solver heun)", () => {
  // 1-D Gaussian data x0 ~ N(0, c^2), one value per element, and its exact noise prediction: in the VE
  // variable y = x / alpha (s = sigma / alpha), eps*(y, s) = s y / (c^2 + s^2), and the probability-flow
  // ODE dy/ds = eps* has the solution y(s_lo) = y(s_hi) sqrt((c^2 + s_lo^2) / (c^2 + s_hi^2)).
  const c = 0.5;
  const coarse = consistencyTables(abar, 21); // steps of ~5 timesteps
  const col = (table: ArrayLike<number>, n: number) => T.tensor(new Float32Array(B).fill(table[n]!), [B]);
  const point = (n: number): GridPoint => ({
    t: T.tensor(new Int32Array(B).fill(coarse.grid[n]!), [B], "int32"),
    alpha: col(coarse.alpha, n),
    sigma: col(coarse.sigma, n),
    cSkip: col(coarse.cSkip, n),
    cOut: col(coarse.cOut, n),
  });
  let calls = 0;
  const exactEps = (_p: unknown, x: T.Tensor, t: T.Tensor) => {
    calls++;
    const a = abar[(t.toArray() as number[])[0]!]!;
    return T.mul(x, Math.sqrt(1 - a) / (a * c * c + 1 - a));
  };
  const x0c = Float32Array.from(normal(makeKey(11), B * D), (v) => c * v);
  const noise = T.tensor(normal(makeKey(12), B * D), [B, D]);

  it("has a far smaller error than DDIM against the exact ODE solution, with two teacher calls", () => {
    for (const n of [0, 5, 10, 19]) {
      const [hi, lo] = [point(n + 1), point(n)];
      const batch = { x0: T.tensor(x0c, [B, D]), noise, hi, lo, teacher: {} };
      const [aHi, sHi, aLo, sLo] = [
        coarse.alpha[n + 1]!,
        coarse.sigma[n + 1]!,
        coarse.alpha[n]!,
        coarse.sigma[n]!,
      ];
      const xHi = T.add(T.mul(batch.x0, aHi), T.mul(noise, sHi));
      const [vHi, vLo] = [sHi / aHi, sLo / aLo];
      const exact = Array.from(
        xHi.values(),
        (x) => aLo * (x / aHi) * Math.sqrt((c * c + vLo * vLo) / (c * c + vHi * vHi)),
      );
      const err = (solver: "ddim" | "heun") => {
        calls = 0;
        const got = teacherStep(exactEps, { ...CFG, solver }, batch, xHi).values();
        const used = calls;
        const e = Math.max(...exact.map((v, i) => Math.abs(v - got[i]!)));
        return { e, used };
      };
      const ddim = err("ddim");
      const heun = err("heun");
      expect(ddim.used).toBe(1);
      expect(heun.used).toBe(2);
      // DDIM is first order in s (error O(h^2) per step), Heun second order (O(h^3)).
      expect(ddim.e).toBeGreaterThan(1e-4);
      expect(heun.e).toBeLessThan(0.1 * ddim.e); // measured: 0.005 to 0.07 of it
    }
  });

  it("changes the loss (the target is the Heun point) and stays the same compiled as eager", async () => {
    const batch = drawConsistencyInputs(makeKey(3), x0, [B, D], tables, teacher.parameters());
    const heun = consistencyDistillationLoss(fwd, { ...CFG, solver: "heun" });
    const ddim = consistencyDistillationLoss(fwd, CFG);
    const eager = heun(student.parameters(), batch).item();
    expect(eager).not.toBeCloseTo(ddim(student.parameters(), batch).item(), 6);
    expect((await T.compile(heun)(student.parameters(), batch)).item()).toBeCloseTo(eager, 5);
  });
});
