/**
 * PNG (ISO/IEC 15948, https://www.w3.org/TR/png/) encoding of 8-bit images, browser-safe: the
 * compressor is passed in (`encodePngWith`), or is the platform's `CompressionStream("deflate")`
 * (zlib format, as PNG's IDAT needs: RFC 1950) in `encodePngAsync`, which browsers and Node >= 18 have.
 * png.ts adds the synchronous Node encoder (zlib's deflateSync) and the decoder.
 *
 * Encoding writes IHDR / one IDAT / IEND with a per-row adaptive filter (the filter type with the
 * smallest sum of absolute signed residuals, libpng's heuristic).
 */
import type { RawImage } from "./image.js";
import { InputError } from "./input-error.js";

/** Any malformed or unsupported PNG, or a bad image passed to the encoder. */
export class PngError extends InputError {
  override name = "PngError";
}

export const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** PNG colour type for each channel count, and back. */
const COLOR_TYPE_OF_CHANNELS = { 1: 0, 2: 4, 3: 2, 4: 6 } as const;
export const SAMPLES_OF_COLOR_TYPE: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
export const BIT_DEPTHS_OF_COLOR_TYPE: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, as in PNG Annex D) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function fail(message: string): never {
  throw new PngError(`png: ${message}`);
}

// ---------------------------------------------------------------------------------------------------
// Encoding

/** A zlib-format (RFC 1950) compressor. */
export type Deflate = (bytes: Uint8Array) => Uint8Array;

/** Encodes an 8-bit image as PNG bytes, compressing the filtered rows with `deflate`. */
export function encodePngWith(image: RawImage, deflate: Deflate): Uint8Array {
  return assemble(image, deflate(filteredRows(image)));
}

/** Encodes an 8-bit image as PNG bytes with the platform's CompressionStream (browsers, Node >= 18). */
export async function encodePngAsync(image: RawImage): Promise<Uint8Array> {
  const rows = filteredRows(image);
  const stream = new Blob([rows as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new CompressionStream("deflate"));
  return assemble(image, new Uint8Array(await new Response(stream).arrayBuffer()));
}

/** Checks the image and returns its rows with their filter bytes (the data that IDAT compresses). */
function filteredRows(image: RawImage): Uint8Array {
  const { width, height, channels, data } = image;
  for (const [field, value] of [
    ["width", width],
    ["height", height],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 0x7fffffff) {
      fail(`${field} = ${value}, expected a positive integer`);
    }
  }
  if (!(channels in COLOR_TYPE_OF_CHANNELS)) fail(`channels = ${channels}, expected 1, 2, 3 or 4`);
  if (data.length !== width * height * channels) {
    fail(`data has ${data.length} bytes, expected width*height*channels = ${width * height * channels}`);
  }
  return filterRows(data, width * channels, height, channels);
}

/** The PNG file: signature, IHDR, IDAT (the compressed rows `idat`), IEND. */
function assemble(image: RawImage, idat: Uint8Array): Uint8Array {
  const { width, height, channels } = image;
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, COLOR_TYPE_OF_CHANNELS[channels], 0, 0, 0], 8);
  const chunks = [pngChunk("IHDR", ihdr), pngChunk("IDAT", idat), pngChunk("IEND", new Uint8Array(0))];
  const out = new Uint8Array(8 + chunks.reduce((s, c) => s + c.length, 0));
  out.set(SIGNATURE);
  let at = 8;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** One PNG chunk: length, type, body and the CRC-32 of type + body (PNG section 5.3). */
export function pngChunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/** Each row prefixed by the filter type (0-4) that minimizes the sum of |signed residual|. */
function filterRows(data: Uint8Array, stride: number, height: number, bpp: number): Uint8Array {
  const out = new Uint8Array(height * (stride + 1));
  const candidate = new Uint8Array(stride);
  const zero = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = data.subarray(y * stride, (y + 1) * stride);
    const up = y === 0 ? zero : data.subarray((y - 1) * stride, y * stride);
    let best = Number.POSITIVE_INFINITY;
    for (let type = 0; type <= 4; type++) {
      let cost = 0;
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? row[i - bpp]! : 0;
        const c = i >= bpp ? up[i - bpp]! : 0;
        const r = (row[i]! - predict(type, a, up[i]!, c)) & 0xff;
        candidate[i] = r;
        cost += r < 128 ? r : 256 - r;
      }
      if (cost < best) {
        best = cost;
        out[y * (stride + 1)] = type;
        out.set(candidate, y * (stride + 1) + 1);
      }
    }
  }
  return out;
}

/** The PNG filter predictor (spec section 9.2) from left `a`, up `b` and up-left `c`. */
export function predict(type: number, a: number, b: number, c: number): number {
  switch (type) {
    case 0:
      return 0;
    case 1:
      return a;
    case 2:
      return b;
    case 3:
      return (a + b) >> 1;
    default: {
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
  }
}
