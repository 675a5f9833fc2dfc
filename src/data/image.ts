/**
 * Pixel preparation shared by the image datasets: decoded 8-bit interleaved images (HWC, 1-4 channels:
 * gray, gray+alpha, RGB, RGBA) become planar float CHW in [-1, 1] with a chosen channel count,
 * optionally center-cropped to a square and resized.
 */

/** A decoded 8-bit image, interleaved row-major HWC (the shape `decodePng` and jpeg-js return). */
export interface RasterImage {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

/** Output channels: 1 gray, 3 RGB (alpha composited over white), 4 RGBA (straight alpha kept). */
export type Channels = 1 | 3 | 4;

/** Planar float image, values in [0, 1]. */
interface Planar {
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly data: Float32Array;
}

export function assertChannels(channels: unknown): asserts channels is Channels {
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new Error(`channels: expected 1, 3 or 4, got ${JSON.stringify(channels)}`);
  }
}

/** Maps bytes 0..255 linearly onto [-1, 1] (x / 127.5 - 1), writing into `out` at `offset`. */
export function bytesToSigned(
  bytes: Uint8Array,
  out: Float32Array = new Float32Array(bytes.length),
  offset = 0,
) {
  for (let i = 0; i < bytes.length; i++) out[offset + i] = bytes[i]! / 127.5 - 1;
  return out;
}

/** ITU-R BT.601 luma weights, the usual RGB -> gray conversion (PIL's "L" mode). */
const LUMA = [0.299, 0.587, 0.114] as const;

/**
 * Interleaved bytes -> planar [0, 1] with `channels` output channels. Alpha is straight (PNG's
 * convention): dropping it composites over white, c' = c * a + (1 - a).
 */
export function toPlanar(img: RasterImage, channels: Channels): Planar {
  const { width: w, height: h, channels: src, data } = img;
  if (![1, 2, 3, 4].includes(src) || data.length !== w * h * src) {
    throw new Error(
      `image: expected ${w}x${h} pixels of 1-4 channels, got ${data.length} bytes, ${src} channels`,
    );
  }
  const hw = w * h;
  const out = new Float32Array(channels * hw);
  const hasAlpha = src === 2 || src === 4;
  const rgb = [0, 0, 0];
  for (let p = 0; p < hw; p++) {
    const base = p * src;
    const a = hasAlpha ? data[base + src - 1]! / 255 : 1;
    for (let k = 0; k < 3; k++) rgb[k] = data[base + (src >= 3 ? k : 0)]! / 255;
    if (channels === 4) {
      for (let k = 0; k < 3; k++) out[k * hw + p] = rgb[k]!;
      out[3 * hw + p] = a;
    } else {
      for (let k = 0; k < 3; k++) rgb[k] = rgb[k]! * a + (1 - a);
      if (channels === 1) out[p] = LUMA[0] * rgb[0]! + LUMA[1] * rgb[1]! + LUMA[2] * rgb[2]!;
      else for (let k = 0; k < 3; k++) out[k * hw + p] = rgb[k]!;
    }
  }
  return { c: channels, h, w, data: out };
}

/** Crops the central square of side min(h, w) (offsets rounded down). */
export function centerCropSquare(img: Planar): Planar {
  const side = Math.min(img.h, img.w);
  if (side === img.h && side === img.w) return img;
  const top = Math.floor((img.h - side) / 2);
  const left = Math.floor((img.w - side) / 2);
  const out = new Float32Array(img.c * side * side);
  for (let c = 0; c < img.c; c++) {
    for (let y = 0; y < side; y++) {
      const src = (c * img.h + top + y) * img.w + left;
      out.set(img.data.subarray(src, src + side), (c * side + y) * side);
    }
  }
  return { c: img.c, h: side, w: side, data: out };
}

/** Taps (source index, weight) of each output sample along one axis. */
type Taps = { index: number[]; weight: number[] }[];

/**
 * Resampling weights from `n` to `m` samples. Downscaling (m < n) uses area averaging: output o covers
 * source interval [o s, (o + 1) s) with s = n / m, each source pixel weighted by its overlap / s
 * (PIL's BOX filter, OpenCV's INTER_AREA). Upscaling uses bilinear interpolation at the pixel centers,
 * x = (o + 0.5) / m * n - 0.5, clamped at the border (align_corners = false).
 */
export function resampleTaps(n: number, m: number): Taps {
  const s = n / m;
  return Array.from({ length: m }, (_, o) => {
    if (s >= 1) {
      const lo = o * s;
      const hi = lo + s;
      const index: number[] = [];
      const weight: number[] = [];
      for (let i = Math.floor(lo); i < Math.min(n, Math.ceil(hi)); i++) {
        const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
        if (overlap > 1e-12) {
          index.push(i);
          weight.push(overlap / s);
        }
      }
      return { index, weight };
    }
    const x = Math.min(Math.max((o + 0.5) * s - 0.5, 0), n - 1);
    const i0 = Math.floor(x);
    const i1 = Math.min(i0 + 1, n - 1);
    return { index: [i0, i1], weight: [1 - (x - i0), x - i0] };
  });
}

/** Resizes a planar image to outH x outW, separably (rows, then columns). */
export function resize(img: Planar, outH: number, outW: number): Planar {
  if (img.h === outH && img.w === outW) return img;
  const tx = resampleTaps(img.w, outW);
  const ty = resampleTaps(img.h, outH);
  const tmp = new Float32Array(img.c * img.h * outW);
  for (let r = 0; r < img.c * img.h; r++) {
    for (let o = 0; o < outW; o++) {
      const { index, weight } = tx[o]!;
      let acc = 0;
      for (let k = 0; k < index.length; k++) acc += weight[k]! * img.data[r * img.w + index[k]!]!;
      tmp[r * outW + o] = acc;
    }
  }
  const out = new Float32Array(img.c * outH * outW);
  for (let c = 0; c < img.c; c++) {
    for (let o = 0; o < outH; o++) {
      const { index, weight } = ty[o]!;
      for (let x = 0; x < outW; x++) {
        let acc = 0;
        for (let k = 0; k < index.length; k++) acc += weight[k]! * tmp[(c * img.h + index[k]!) * outW + x]!;
        out[(c * outH + o) * outW + x] = acc;
      }
    }
  }
  return { c: img.c, h: outH, w: outW, data: out };
}

export interface PrepareOptions {
  channels: Channels;
  /** Output side length; the image is center-cropped to a square first. Omit to keep the size. */
  size?: number;
}

/** Decoded image -> planar CHW in [-1, 1], written into `out` at `offset`. Returns [C, H, W]. */
export function prepareImage(
  img: RasterImage,
  opts: PrepareOptions,
  out: Float32Array,
  offset: number,
): [number, number, number] {
  let p = toPlanar(img, opts.channels);
  if (opts.size !== undefined) p = resize(centerCropSquare(p), opts.size, opts.size);
  for (let i = 0; i < p.data.length; i++) out[offset + i] = Math.min(1, Math.max(-1, p.data[i]! * 2 - 1));
  return [p.c, p.h, p.w];
}
