/**
 * Flow samplers (Euler, Heun) and the straightness metric (samplers/flow.ts) on velocity fields whose
 * trajectories are known in closed form.
 */
import { describe, expect, it } from "vitest";
import {
  flowModelVelocity,
  flowStraightness,
  flowTimeGrid,
  sampleFlowEuler,
  sampleFlowHeun,
} from "../../src/diffusion/samplers/flow.js";
import { makeKey, normal } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";

const N = 64;
const noise = T.tensor(normal(makeKey(1), N * 2), [N, 2]);
const A = T.tensor(
  Float32Array.from({ length: N * 2 }, (_, i) => (i % 2 ? -1.5 : 2)),
  [N, 2],
);

/** The exact flow of a single data point a: u(x, t) = (x - a) / t; x_t = a + t (eps - a) is straight. */
const toPoint = (x: T.Tensor, t: number) => T.div(T.sub(x, A), t);
/** A rotation: u(x, t) = (-x_2, x_1); its trajectories are circular arcs. */
const rotation = (x: T.Tensor) => {
  const [a, b] = [T.slice(x, [null, [0, 1]]), T.slice(x, [null, [1, 2]])];
  return T.concat([T.neg(b), a], 1);
};
const maxAbsDiff = (a: T.Tensor, b: T.Tensor) =>
  Math.max(...Array.from(T.sub(a, b).values() as Float32Array, Math.abs));

describe("flow samplers", () => {
  it("one Euler step of a straight flow lands exactly on its end point", async () => {
    const x = await sampleFlowEuler(toPoint, noise, flowTimeGrid(1));
    expect(maxAbsDiff(x, A)).toBeLessThan(1e-5);
  });

  it("Heun is second order and Euler first order on dx/dt = x (x(0) = x(1) / e)", async () => {
    const exact = T.mul(noise, Math.exp(-1));
    const err = async (sampler: typeof sampleFlowEuler, steps: number) =>
      maxAbsDiff(await sampler((x) => x, noise, [...flowTimeGrid(steps).slice(0, -1), 1e-9]), exact);
    const [e10, e20] = [await err(sampleFlowEuler, 10), await err(sampleFlowEuler, 20)];
    const [h10, h20] = [await err(sampleFlowHeun, 10), await err(sampleFlowHeun, 20)];
    expect(e10 / e20).toBeGreaterThan(1.7);
    expect(e10 / e20).toBeLessThan(2.3);
    expect(h10 / h20).toBeGreaterThan(3.4);
    expect(h10).toBeLessThan(e10 / 10);
  });

  it("feeds a network the timestep 1000 t", async () => {
    const seen: number[] = [];
    const v = flowModelVelocity((x, t) => {
      seen.push(t);
      return x;
    });
    await sampleFlowEuler(v, noise, [1, 0.25, 0]);
    expect(seen).toEqual([1000, 250]);
  });

  it("rejects a grid that does not descend, naming the entry", async () => {
    await expect(sampleFlowEuler(toPoint, noise, [1, 1, 0])).rejects.toThrow(/times\[1\]/);
    expect(() => flowTimeGrid(0)).toThrow(/steps/);
  });
});

describe("straightness (Liu et al. 2022)", () => {
  it("is 0 for a flow of straight constant-speed paths", async () => {
    const s = await flowStraightness(toPoint, noise, flowTimeGrid(50));
    expect(s.straightness).toBeLessThan(1e-8);
    expect(maxAbsDiff(s.end, A)).toBeLessThan(1e-4);
  });

  it("is 0 for a constant field and > 0 for a rotation (curved paths)", async () => {
    const c = T.tensor(new Float32Array(N * 2).fill(0.7), [N, 2]);
    expect((await flowStraightness(() => c, noise)).straightness).toBeLessThan(1e-10);
    const curved = (await flowStraightness(rotation, noise)).straightness;
    // Per unit-time rotation the velocity turns by 1 rad: E||mean - u||^2 ~ E|x|^2 (1 - sinc^2(1/2)) > 0.1
    expect(curved).toBeGreaterThan(0.1);
  });

  it("grows with the curvature: a faster rotation is less straight", async () => {
    const fast = (x: T.Tensor) => T.mul(rotation(x), 3);
    const [slow, quick] = [await flowStraightness(rotation, noise), await flowStraightness(fast, noise)];
    expect(quick.straightness).toBeGreaterThan(slow.straightness * 2);
  });
});
