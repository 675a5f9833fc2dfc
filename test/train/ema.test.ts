import { describe, expect, it } from "vitest";
import * as T from "../../src/tensor/index.js";
import {
  type EmaSchedule,
  emaDecay,
  emaOneMinusDecay,
  emaScheduleFromDiffusers,
  emaUpdate,
  initEma,
  validateEmaSchedule,
} from "../../src/train/ema.js";

describe("EMA decay schedules", () => {
  it("copies on the first update, then follows (1 + s) / (10 + s) capped at decay (use_ema_warmup=False)", () => {
    const s = emaScheduleFromDiffusers({ decay: 0.5 });
    expect(s.kind).toBe("diffusers");
    expect(emaDecay(s, 1)).toBe(0);
    expect(emaDecay(s, 2)).toBeCloseTo(2 / 11, 15); // s = 1
    expect(emaDecay(s, 3)).toBeCloseTo(3 / 12, 15);
    expect(emaDecay(s, 100)).toBe(0.5);
  });

  it("follows 1 - (1 + s / inv_gamma)^-power with use_ema_warmup, bounded by min_decay and decay", () => {
    const s = emaScheduleFromDiffusers({
      use_ema_warmup: true,
      decay: 0.999,
      inv_gamma: 2,
      power: 0.75,
      min_decay: 0.1,
    });
    expect(emaDecay(s, 1)).toBe(0);
    expect(emaDecay(s, 2)).toBeCloseTo(Math.max(0.1, 1 - (1 + 1 / 2) ** -0.75), 15);
    expect(emaDecay(s, 50)).toBeCloseTo(1 - (1 + 49 / 2) ** -0.75, 15);
    expect(emaDecay(s, 1e9)).toBe(0.999);
  });

  it("waits update_after_step updates", () => {
    const s: EmaSchedule = { kind: "diffusers", decay: 0.9, updateAfterStep: 3 };
    expect([1, 2, 3, 4].map((n) => emaDecay(s, n))).toEqual([0, 0, 0, 0]);
    expect(emaDecay(s, 5)).toBeCloseTo(2 / 11, 15);
  });

  it("computes the same decay inside the graph as on numbers", () => {
    const schedules: EmaSchedule[] = [
      { kind: "constant", decay: 0.9 },
      { kind: "diffusers", decay: 0.99, minDecay: 0.3, updateAfterStep: 2 },
      { kind: "diffusers-warmup", decay: 0.999, invGamma: 1, power: 2 / 3 },
    ];
    const steps = [1, 2, 3, 4, 7, 20, 500, 1e5];
    for (const s of schedules) {
      const got = emaOneMinusDecay(s, T.tensor(steps, [steps.length])).toArray();
      steps.forEach((n, i) => {
        expect(got[i], `${s.kind} step ${n}`).toBeCloseTo(1 - emaDecay(s, n), 6);
      });
    }
  });

  it("names the bad field", () => {
    expect(() => validateEmaSchedule({ kind: "constant", decay: 1.5 })).toThrow(/decay is 1.5/);
    expect(() => validateEmaSchedule({ kind: "diffusers", decay: 0.9, updateAfterStep: -1 })).toThrow(
      /updateAfterStep is -1/,
    );
    expect(() => emaScheduleFromDiffusers({ use_ema_warmup: true, power: 0 })).toThrow(/power is 0/);
  });
});

describe("emaUpdate", () => {
  it("moves the shadow towards the parameters by 1 - decay", () => {
    const p0 = { w: T.tensor([1, 2], [2]) };
    let ema = initEma(p0);
    ema = emaUpdate(ema, { w: T.tensor([3, 0], [2]) }, { kind: "constant", decay: 0.75 });
    expect(ema.params.w.toArray()).toEqual([1.5, 1.5]);
    expect(ema.step.item()).toBe(1);
  });
});
