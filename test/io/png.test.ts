import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync, crc32 as zlibCrc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  crc32,
  decodePng,
  encodePng,
  encodePngAsync,
  imageGrid,
  PngError,
  type RawImage,
} from "../../src/io/png.js";

/** Deterministic bytes (an LCG), so tests never depend on Math.random. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

// A PNG builder independent of src/io/png.ts (zlib's CRC, filtered rows given by the test).
function chunk(type: string, body: Uint8Array | number[]): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlibCrc32(Buffer.concat([head.subarray(4), Buffer.from(body)])), 0);
  return Buffer.concat([head, Buffer.from(body), crc]);
}

interface Spec {
  width: number;
  height: number;
  depth: number;
  color: number;
  interlace?: number;
  extra?: Buffer[];
  /** Filtered scanlines: each row starts with its filter type byte. */
  rows: number[][];
}

function buildPng({ width, height, depth, color, interlace = 0, extra = [], rows }: Spec): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([depth, color, 0, 0, interlace], 8);
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  const idat = chunk("IDAT", deflateSync(Buffer.from(rows.flat())));
  return new Uint8Array(Buffer.concat([signature, chunk("IHDR", ihdr), ...extra, idat, chunk("IEND", [])]));
}

describe("encodePng / decodePng round trip", () => {
  for (const channels of [1, 2, 3, 4] as const) {
    it(`${channels} channel(s): noise and gradients`, () => {
      const [width, height] = [13, 7];
      const noise: RawImage = { width, height, channels, data: bytes(width * height * channels, channels) };
      expect(decodePng(encodePng(noise))).toEqual(noise);
      const gradient = new Uint8Array(width * height * channels).map((_, i) => (i * 3 + (i % 5)) & 255);
      const smooth: RawImage = { width, height, channels, data: gradient };
      expect(decodePng(encodePng(smooth))).toEqual(smooth);
    });
  }

  it("writes a valid signature, IHDR and checksums", () => {
    const png = encodePng({ width: 3, height: 2, channels: 3, data: bytes(18, 9) });
    expect([...png.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    expect(Buffer.from(png.subarray(12, 16)).toString("latin1")).toBe("IHDR");
    expect([...png.subarray(16, 29)]).toEqual([0, 0, 0, 3, 0, 0, 0, 2, 8, 2, 0, 0, 0]);
    expect(crc32(png.subarray(12, 29))).toBe(Buffer.from(png).readUInt32BE(29));
    expect(crc32(png)).toBe(zlibCrc32(png));
  });

  it("the browser-safe encoder (CompressionStream) writes the same image", async () => {
    const image: RawImage = { width: 9, height: 5, channels: 3, data: bytes(9 * 5 * 3, 4) };
    const png = await encodePngAsync(image);
    expect(decodePng(png)).toEqual(image);
    // Same filtered rows as the zlib encoder: the files differ only in the compressed IDAT, if at all.
    expect([...png.subarray(0, 33)]).toEqual([...encodePng(image).subarray(0, 33)]);
    await expect(encodePngAsync({ ...image, channels: 7 as 4 })).rejects.toThrow(/channels = 7/);
  });

  it("rejects bad images with the field named", () => {
    expect(() => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) })).toThrow(/12/);
    expect(() => encodePng({ width: 0, height: 2, channels: 1, data: new Uint8Array(0) })).toThrow(
      /width = 0/,
    );
    expect(() => encodePng({ width: 1, height: 1, channels: 5 as 4, data: new Uint8Array(5) })).toThrow(
      /channels = 5/,
    );
  });
});

describe("decodePng on hand-built files", () => {
  it("expands a 2-bit palette with tRNS to RGBA", () => {
    const plte = chunk("PLTE", [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]);
    const trns = chunk("tRNS", [0, 128]);
    // indices row 0: 0 1 2, row 1: 3 2 1 (2 bits each, high bits first)
    const rows = [
      [0, 0b00011000],
      [0, 0b11100100],
    ];
    const image = decodePng(buildPng({ width: 3, height: 2, depth: 2, color: 3, extra: [plte, trns], rows }));
    expect(image.channels).toBe(4);
    expect([...image.data]).toEqual([
      ...[10, 20, 30, 0, 40, 50, 60, 128, 70, 80, 90, 255],
      ...[100, 110, 120, 255, 70, 80, 90, 255, 40, 50, 60, 128],
    ]);
  });

  it("expands an 8-bit palette without tRNS to RGB", () => {
    const plte = chunk("PLTE", [1, 2, 3, 4, 5, 6]);
    const image = decodePng(
      buildPng({ width: 2, height: 1, depth: 8, color: 3, extra: [plte], rows: [[0, 1, 0]] }),
    );
    expect(image).toEqual({ width: 2, height: 1, channels: 3, data: new Uint8Array([4, 5, 6, 1, 2, 3]) });
  });

  it("rounds 16-bit grey to 8 bits and undoes the Sub filter with 2-byte pixels", () => {
    // samples 0x1234 and 0x8080; the second pixel is stored as a difference from the first (filter 1).
    const rows = [[1, 0x12, 0x34, (0x80 - 0x12) & 255, (0x80 - 0x34) & 255]];
    const image = decodePng(buildPng({ width: 2, height: 1, depth: 16, color: 0, rows }));
    expect(image).toEqual({ width: 2, height: 1, channels: 1, data: new Uint8Array([18, 128]) });
  });

  it("scales 1-bit grey to 0/255 across a row padded to whole bytes", () => {
    const image = decodePng(
      buildPng({ width: 10, height: 1, depth: 1, color: 0, rows: [[0, 0b10101100, 0b11000000]] }),
    );
    expect([...image.data]).toEqual([255, 0, 255, 0, 255, 255, 0, 0, 255, 255]);
  });

  it("turns a grey tRNS colour key into an alpha channel", () => {
    const trns = chunk("tRNS", [0, 7]);
    const image = decodePng(
      buildPng({ width: 2, height: 1, depth: 8, color: 0, extra: [trns], rows: [[0, 7, 8]] }),
    );
    expect(image).toEqual({ width: 2, height: 1, channels: 2, data: new Uint8Array([7, 0, 8, 255]) });
  });

  it("undoes Up, Average and Paeth filters", () => {
    // 2x3 grey image with pixels [[10, 20], [30, 50], [60, 65]]:
    // row 0 Paeth (up = 0, so it predicts the left pixel): 10-0, 20-10; row 1 Up: 30-10, 50-20;
    // row 2 Average: 60-floor((0+30)/2), 65-floor((60+50)/2).
    const rows = [
      [4, 10, 10],
      [2, 20, 30],
      [3, 45, 10],
    ];
    const image = decodePng(buildPng({ width: 2, height: 3, depth: 8, color: 0, rows }));
    expect([...image.data]).toEqual([10, 20, 30, 50, 60, 65]);
  });

  const damaged: [string, () => Uint8Array, RegExp][] = [
    ["not a PNG", () => new Uint8Array([1, 2, 3]), /signature/],
    [
      "interlaced",
      () => buildPng({ width: 1, height: 1, depth: 8, color: 0, interlace: 1, rows: [[0, 0]] }),
      /interlace/,
    ],
    [
      "bad bit depth",
      () => buildPng({ width: 1, height: 1, depth: 4, color: 2, rows: [[0, 0]] }),
      /bit depth 4/,
    ],
    [
      "palette without PLTE",
      () => buildPng({ width: 1, height: 1, depth: 8, color: 3, rows: [[0, 0]] }),
      /PLTE/,
    ],
    [
      "palette index out of range",
      () =>
        buildPng({
          width: 1,
          height: 1,
          depth: 8,
          color: 3,
          extra: [chunk("PLTE", [0, 0, 0])],
          rows: [[0, 5]],
        }),
      /index 5/,
    ],
    [
      "too little data",
      () => buildPng({ width: 4, height: 2, depth: 8, color: 0, rows: [[0, 1, 2, 3, 4]] }),
      /IDAT/,
    ],
    [
      "bad filter type",
      () => buildPng({ width: 1, height: 1, depth: 8, color: 0, rows: [[7, 0]] }),
      /filter type 7/,
    ],
    [
      "corrupt CRC",
      () => {
        const png = encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(4) });
        png[20] = (png[20] ?? 0) ^ 1;
        return png;
      },
      /IHDR.*bad CRC/,
    ],
    [
      "truncated",
      () => encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(4) }).subarray(0, 40),
      /past the end|before the IEND/,
    ],
  ];
  for (const [name, make, message] of damaged) {
    it(`rejects: ${name}`, () => {
      const png = make();
      expect(() => decodePng(png)).toThrow(PngError);
      expect(() => decodePng(png)).toThrow(message);
    });
  }
});

describe("decodePng resource bounds (issue 17)", () => {
  it("refuses an image above the pixel limit before inflating anything", () => {
    const rows = Array.from({ length: 40 }, () => [0, ...new Array<number>(40).fill(7)]);
    const png = buildPng({ width: 40, height: 40, depth: 8, color: 0, rows });
    expect(decodePng(png).data.length).toBe(1600);
    expect(() => decodePng(png, 1000)).toThrow(/image size 40x40 exceeds the limit of 1000 pixels/);
  });

  it("a decompression bomb (IDAT inflating far beyond what the header needs) is a PngError", () => {
    const rows = [
      [0, 1, 2],
      [0, 3, 4],
      ...Array.from({ length: 2000 }, () => new Array<number>(100).fill(0)),
    ];
    const png = buildPng({ width: 2, height: 2, depth: 8, color: 0, rows });
    expect(png.length).toBeLessThan(5000);
    expect(() => decodePng(png)).toThrow(PngError);
    expect(() => decodePng(png)).toThrow(/IDAT data does not decompress/);
  });
});

describe("decodePng on the emoji dataset's files", () => {
  const dir = join(import.meta.dirname, "../../node_modules/emoji-datasource-twitter/img/twitter/64");
  // One file of each (bit depth, colour type) found in the folder.
  const kinds = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith(".png")) continue;
    const head = readFileSync(join(dir, name)).subarray(24, 26);
    kinds.set(`depth ${head[0]} colour ${head[1]}`, kinds.get(`depth ${head[0]} colour ${head[1]}`) ?? name);
  }

  it("finds emoji files", () => expect(kinds.size).toBeGreaterThan(0));

  for (const [kind, name] of kinds) {
    it(`${kind} (${name}): decodes to RGBA with transparency and re-encodes losslessly`, () => {
      const image = decodePng(new Uint8Array(readFileSync(join(dir, name))));
      expect([image.width, image.height, image.channels]).toEqual([64, 64, 4]);
      const alpha = image.data.filter((_, i) => i % 4 === 3);
      expect(alpha.includes(0)).toBe(true);
      expect(alpha.includes(255)).toBe(true);
      expect(decodePng(encodePng(image))).toEqual(image);
    });
  }
});

describe("imageGrid", () => {
  it("tiles like torchvision make_grid and maps [-1, 1] to bytes", () => {
    const [n, c, h, w] = [5, 1, 2, 3];
    // image i has every pixel equal to a distinct value; 0 maps to 128 (127.5 rounded half up).
    const values = [-1, 0, 1, -0.5, 0.5];
    const images = new Float32Array(n * c * h * w).map((_, i) => values[Math.floor(i / (h * w))]!);
    const grid = imageGrid(images, [n, c, h, w], { nrow: 2, padding: 1 });
    expect([grid.width, grid.height, grid.channels]).toEqual([2 * 4 + 1, 3 * 3 + 1, 1]);
    const bytesOf = [0, 128, 255, 64, 191];
    const at = (x: number, y: number) => grid.data[y * grid.width + x];
    for (let i = 0; i < n; i++) {
      const [top, left] = [1 + Math.floor(i / 2) * 3, 1 + (i % 2) * 4];
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) expect(at(left + x, top + y)).toBe(bytesOf[i]);
    }
    expect(at(0, 0)).toBe(0);
    expect(at(4, 1)).toBe(0); // the padding column between tiles
    // the empty sixth cell stays padding
    expect(at(5, 7)).toBe(0);
  });

  it("interleaves channels, clamps and pads with padValue", () => {
    const images = new Float32Array([2, 2, -3, -3, 0, 0, 2, 2, -3, -3, 0, 0]); // 2 images, RGB, 1x2
    const grid = imageGrid(images, [2, 3, 1, 2], { padding: 1, padValue: 7 });
    expect([grid.width, grid.height, grid.channels]).toEqual([7, 3, 3]);
    const row = [...grid.data.subarray(7 * 3, 14 * 3)];
    expect(row).toEqual([7, 7, 7, 255, 0, 128, 255, 0, 128, 7, 7, 7, 255, 0, 128, 255, 0, 128, 7, 7, 7]);
  });

  it("returns a single image without padding, like make_grid", () => {
    const grid = imageGrid(new Float32Array([1, -1]), [1, 1, 1, 2]);
    expect(grid).toEqual({ width: 2, height: 1, channels: 1, data: new Uint8Array([255, 0]) });
  });

  it("rejects mismatched shapes", () => {
    expect(() => imageGrid(new Float32Array(5), [1, 1, 2, 3])).toThrow(/5 values/);
    expect(() => imageGrid(new Float32Array(5 * 6), [1, 5, 2, 3])).toThrow(/channels C = 5/);
    expect(() => imageGrid(new Float32Array(6), [1, 1, 2, 3], { nrow: 0 })).toThrow(/nrow = 0/);
  });
});
