import { describe, expect, it } from "vitest";
import { bytesToSigned, centerCropSquare, resampleTaps, resize, toPlanar } from "../../src/data/image.js";

/** Expected values as float32, the precision the images are stored in. */
const f32 = (...v: number[]) => Array.from(Float32Array.from(v));

const planar = (c: number, h: number, w: number, f: (i: number) => number) => ({
  c,
  h,
  w,
  data: Float32Array.from({ length: c * h * w }, (_, i) => f(i)),
});

describe("pixel conversion", () => {
  it("maps bytes 0 and 255 to -1 and 1", () => {
    expect(Array.from(bytesToSigned(new Uint8Array([0, 255])))).toEqual([-1, 1]);
  });

  it("composites RGBA over white when dropping alpha, keeps it with 4 channels", () => {
    // one opaque red pixel, one fully transparent black pixel, one half-transparent black pixel
    const img = {
      width: 3,
      height: 1,
      channels: 4,
      data: new Uint8Array([255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 51]),
    };
    const rgb = toPlanar(img, 3);
    expect(Array.from(rgb.data)).toEqual(f32(1, 1, 0.8, 0, 1, 0.8, 0, 1, 0.8));
    const rgba = toPlanar(img, 4);
    expect(Array.from(rgba.data.subarray(9))).toEqual(f32(1, 0, 0.2));
    const gray = toPlanar(img, 1);
    expect(gray.data[0]).toBeCloseTo(0.299, 6);
    expect(gray.data[1]).toBeCloseTo(1, 6);
  });

  it("expands gray to RGB and rejects a data length that does not match", () => {
    const g = toPlanar({ width: 2, height: 1, channels: 1, data: new Uint8Array([0, 255]) }, 3);
    expect(Array.from(g.data)).toEqual([0, 1, 0, 1, 0, 1]);
    expect(() => toPlanar({ width: 2, height: 2, channels: 3, data: new Uint8Array(5) }, 3)).toThrow(/2x2/);
  });
});

describe("crop and resize", () => {
  it("center-crops the middle square", () => {
    const wide = centerCropSquare(planar(1, 2, 5, (i) => i));
    expect([wide.h, wide.w]).toEqual([2, 2]);
    expect(Array.from(wide.data)).toEqual([1, 2, 6, 7]);
  });

  it("has taps that sum to one for down- and upscaling", () => {
    for (const [n, m] of [
      [10, 3],
      [7, 7],
      [3, 10],
      [64, 28],
    ] as const) {
      for (const t of resampleTaps(n, m)) {
        expect(t.weight.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        expect(t.index.every((i) => i >= 0 && i < n)).toBe(true);
      }
    }
  });

  it("averages 2x2 blocks when halving and keeps the mean for fractional factors", () => {
    const img = planar(1, 4, 4, (i) => i);
    expect(Array.from(resize(img, 2, 2).data)).toEqual([2.5, 4.5, 10.5, 12.5]);
    const big = planar(2, 9, 9, (i) => (i * 37) % 11);
    const small = resize(big, 4, 4);
    const mean = (a: Float32Array) => a.reduce((s, x) => s + x, 0) / a.length;
    expect(mean(small.data)).toBeCloseTo(mean(big.data), 5);
  });

  it("upscales bilinearly between pixel centers", () => {
    const up = resize(
      planar(1, 1, 2, (i) => i),
      1,
      4,
    );
    expect(Array.from(up.data)).toEqual([0, 0.25, 0.75, 1]);
  });
});
