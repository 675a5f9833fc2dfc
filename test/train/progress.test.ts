import { describe, expect, it } from "vitest";
import { formatDuration, Progress } from "../../src/train/progress.js";

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { out, write: (s: string) => out.push(s), isTTY, columns: 120 };
}

describe("Progress", () => {
  it("prints plain lines with step, loss, steps/s and ETA when not a terminal", () => {
    let now = 0;
    const s = sink(false);
    const p = new Progress(s, 100, 0, () => now);
    now = 10;
    p.update(20, 0.5);
    expect(s.out).toEqual(["step  20/100 | loss (ema) 0.5000 | 2.00 steps/s | ETA 40s\n"]);
  });

  it("without a loss (sampling) shows the step, speed, ETA and what it does", () => {
    let now = 0;
    const s = sink(false);
    const p = new Progress(s, 20, 0, () => now);
    now = 2;
    p.update(4, undefined, "sampling");
    expect(s.out).toEqual(["step  4/20 | 2.00 steps/s | ETA 8s | sampling\n"]);
  });

  it("says that its loss is smoothed, and smooths it (0.9 old + 0.1 new)", () => {
    const s = sink(false);
    const p = new Progress(s, 100, 0, () => 1);
    p.update(1, 1);
    p.update(2, 2);
    expect(s.out[1]).toContain("loss (ema) 1.100");
  });

  it("measures speed from the resumed step", () => {
    let now = 0;
    const s = sink(false);
    const p = new Progress(s, 1000, 500, () => now);
    now = 50;
    p.update(600, 1);
    expect(s.out[0]).toContain("2.00 steps/s | ETA 3m20s");
  });

  it("redraws one line with a bar on a terminal", () => {
    let now = 0;
    const s = sink(true);
    const p = new Progress(s, 10, 0, () => now);
    now = 1;
    p.update(5, 0.25);
    p.message("note");
    p.finish();
    expect(s.out[0]!.startsWith("\r[")).toBe(true);
    expect(s.out[0]).toContain("step  5/10");
    expect(s.out.slice(1)).toEqual(["\n", "note\n"]);
  });

  it("formats durations", () => {
    expect([
      formatDuration(5),
      formatDuration(125),
      formatDuration(3720),
      formatDuration(Number.NaN),
    ]).toEqual(["5s", "2m05s", "1h02m", "?"]);
  });
});
