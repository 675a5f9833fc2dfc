/**
 * Where the seed tutorial differs from standard practice the project offers both: torch's Huber loss
 * (delta) beside diffusers' pseudo-Huber (c), and a cosine learning rate with a floor (eta_min).
 */
import { describe, expect, it } from "vitest";
import * as T from "../../src/tensor/index.js";
import { checkTrainConfigFields } from "../../src/train/config.js";
import { penalty } from "../../src/train/losses.js";
import { lrSchedule } from "../../src/train/optim/lr-schedule.js";

const D = [-3, -0.75, -0.5, 0, 0.2, 0.999, 2.5];

describe("torch-huber vs huber", () => {
  it("torch-huber is F.huber_loss: d^2/2 inside delta, delta (|d| - delta/2) outside", () => {
    for (const delta of [1, 0.5]) {
      const got = [...penalty(T.tensor(D, [D.length]), "torch-huber", 0.1, delta).values()];
      const want = D.map((d) => (Math.abs(d) < delta ? 0.5 * d * d : delta * (Math.abs(d) - 0.5 * delta)));
      for (const [i, g] of got.entries()) expect(g).toBeCloseTo(want[i]!, 6);
    }
  });

  it("huber stays diffusers' pseudo-Huber 2c (sqrt(d^2 + c^2) - c), a different function", () => {
    const c = 0.1;
    const got = [...penalty(T.tensor(D, [D.length]), "huber", c).values()];
    for (const [i, d] of D.entries()) expect(got[i]).toBeCloseTo(2 * c * (Math.sqrt(d * d + c * c) - c), 6);
    const torch = [...penalty(T.tensor(D, [D.length]), "torch-huber", c, 1).values()];
    expect(torch).not.toEqual(got);
  });

  it("both are config values; huberDelta is checked", () => {
    expect(checkTrainConfigFields({ loss: "torch-huber", huberDelta: 0.5 }).loss).toBe("torch-huber");
    expect(() => checkTrainConfigFields({ huberDelta: -1 })).toThrow(/huberDelta/);
  });
});

describe("cosine learning rate with a floor", () => {
  const cfg = { kind: "cosine" as const, lr: 2e-4, warmupSteps: 10, totalSteps: 110, minLr: 1e-6 };
  const lr = lrSchedule(cfg);

  it("warms up linearly, then follows eta_min + (lr - eta_min)(1 + cos(pi p))/2 down to eta_min", () => {
    expect(lr(5)).toBeCloseTo(1e-4, 12);
    expect(lr(10)).toBeCloseTo(2e-4, 12);
    expect(lr(60)).toBeCloseTo((2e-4 + 1e-6) / 2, 12);
    expect(lr(110)).toBeCloseTo(1e-6, 12);
    for (let s = 10; s <= 110; s++) expect(lr(s)).toBeGreaterThanOrEqual(1e-6 - 1e-15);
  });

  it("without a floor decays to zero as before; a floor above lr is refused", () => {
    expect(lrSchedule({ ...cfg, minLr: undefined })(110)).toBe(0);
    expect(() => lrSchedule({ ...cfg, minLr: 1 })).toThrow(/minLr/);
    expect(checkTrainConfigFields({ lrMin: 1e-6 }).lrMin).toBe(1e-6);
  });
});
