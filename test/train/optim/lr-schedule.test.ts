import { describe, expect, it } from "vitest";
import { lrSchedule, lrScheduleFromName, validateLrSchedule } from "../../../src/train/optim/lr-schedule.js";

describe("lrSchedule", () => {
  const base = { lr: 1e-3, warmupSteps: 4, totalSteps: 20 };

  it("warms up linearly from 0 and reaches the base rate at the end of warm-up", () => {
    for (const kind of ["constant_with_warmup", "linear", "cosine"] as const) {
      const lr = lrSchedule({ kind, ...base });
      expect(lr(0), kind).toBe(0);
      expect(lr(2), kind).toBeCloseTo(0.5e-3, 12);
      expect(lr(base.warmupSteps), kind).toBeCloseTo(1e-3, 12);
    }
  });

  it("decays to zero at the last step (linear, cosine) and stays at the base rate (constant)", () => {
    expect(lrSchedule({ kind: "linear", ...base })(20)).toBe(0);
    expect(lrSchedule({ kind: "cosine", ...base })(20)).toBeCloseTo(0, 15);
    expect(lrSchedule({ kind: "constant_with_warmup", ...base })(20)).toBe(1e-3);
    expect(lrSchedule({ kind: "constant", lr: 1e-3 })(20)).toBe(1e-3);
  });

  it("follows the half cosine in between", () => {
    const lr = lrSchedule({ kind: "cosine", ...base });
    expect(lr(12)).toBeCloseTo(0.5e-3, 12); // progress 1/2
    expect(lr(8)).toBeCloseTo(1e-3 * 0.5 * (1 + Math.cos(Math.PI / 4)), 12);
  });

  it("maps diffusers scheduler names", () => {
    expect(lrScheduleFromName("cosine_with_warmup", base).kind).toBe("cosine");
    expect(lrScheduleFromName("constant", { lr: 1 }).kind).toBe("constant");
    expect(() => lrScheduleFromName("polynomial", base)).toThrow(/name is "polynomial"/);
  });

  it("names the bad field", () => {
    expect(() => validateLrSchedule({ kind: "linear", lr: 1, warmupSteps: 5, totalSteps: 3 })).toThrow(
      /totalSteps is 3/,
    );
    expect(() => validateLrSchedule({ kind: "cosine", lr: -1, warmupSteps: 0, totalSteps: 3 })).toThrow(
      /lr is -1/,
    );
    expect(() => validateLrSchedule({ kind: "constant_with_warmup", lr: 1, warmupSteps: 1.5 })).toThrow(
      /warmupSteps is 1.5/,
    );
    expect(() => lrSchedule({ kind: "constant", lr: 1 })(-1)).toThrow(/step is -1/);
  });
});
