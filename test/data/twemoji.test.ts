import { describe, expect, it } from "vitest";
import { loadTwemoji } from "../../src/data/twemoji.js";
import { expectValidDataset } from "./helpers.js";

describe("twemoji", () => {
  it("loads 64x64 RGB composited over white with category labels", () => {
    const ds = loadTwemoji({ limit: 6 });
    expect(ds.shape).toEqual([3, 64, 64]);
    expectValidDataset(ds, 6);
    expect(ds.numClasses).toBe(ds.classNames!.length);
    // The first image (keycap "#") has rounded, transparent corners: white after compositing.
    const hw = 64 * 64;
    expect([0, 1, 2].map((c) => ds.images[c * hw])).toEqual([1, 1, 1]);
  });

  it("keeps straight alpha with channels 4, and resizes on request", () => {
    const rgba = loadTwemoji({ limit: 2, channels: 4 });
    expect(rgba.shape).toEqual([4, 64, 64]);
    expect(rgba.images[3 * 64 * 64]).toBe(-1); // alpha 0 at the transparent corner
    const rgb = loadTwemoji({ limit: 2 });
    // where the image is opaque (the keycap's centre), the RGB of both modes agree
    const hw = 64 * 64;
    const centre = 32 * 64 + 32;
    expect(rgba.images[3 * hw + centre]).toBe(1);
    for (const c of [0, 1, 2]) expect(rgb.images[c * hw + centre]).toBe(rgba.images[c * hw + centre]);
    const small = loadTwemoji({ limit: 3, size: 16, channels: 1 });
    expect(small.shape).toEqual([1, 16, 16]);
    expectValidDataset(small, 3);
  });

  it("is deterministic and rejects bad channels", () => {
    expect(loadTwemoji({ limit: 2 }).images).toEqual(loadTwemoji({ limit: 2 }).images);
    expect(() => loadTwemoji({ limit: 1, channels: 2 as never })).toThrow(/channels.*2/);
  });
});
