/**
 * PNG (ISO/IEC 15948, https://www.w3.org/TR/png/) encoder and decoder for 8-bit images, on Node's zlib
 * (the browser-safe encoder is png-encode.ts). Decoding accepts every non-interlaced
 * PNG: grey, grey+alpha, RGB, RGBA and palette at any legal bit depth (1/2/4-bit samples are scaled up,
 * 16-bit samples rounded down to 8 bits), with tRNS transparency turned into an alpha channel.
 * Node-only (zlib).
 */
import { deflateSync, inflateSync } from "node:zlib";
import type { RawImage } from "./image.js";
import {
  BIT_DEPTHS_OF_COLOR_TYPE,
  crc32,
  encodePngWith,
  fail,
  predict,
  SAMPLES_OF_COLOR_TYPE,
  SIGNATURE,
} from "./png-encode.js";

export { type GridOptions, imageGrid, type RawImage, toByte } from "./image.js";
export { crc32, encodePngAsync, encodePngWith, PngError } from "./png-encode.js";

// ---------------------------------------------------------------------------------------------------
// Encoding (Node: zlib's deflateSync)

/** Encodes an 8-bit image as PNG bytes. */
export function encodePng(image: RawImage): Uint8Array {
  return encodePngWith(image, (bytes) => new Uint8Array(deflateSync(bytes)));
}

// ---------------------------------------------------------------------------------------------------
// Decoding

interface Header {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
}

interface Chunks {
  header: Header;
  palette?: Uint8Array;
  transparency?: Uint8Array;
  compressed: Uint8Array;
}

/** Images above this many pixels are refused (a decompression bomb guard, as PIL's MAX_IMAGE_PIXELS). */
export const PNG_MAX_PIXELS = 100_000_000;

/**
 * Decodes PNG bytes into an 8-bit image (see the module comment for what is accepted). Images with
 * more than `maxPixels` pixels are refused before anything is inflated, and the inflated data is
 * capped at what the header's size needs, so a small crafted file cannot allocate gigabytes.
 */
export function decodePng(bytes: Uint8Array, maxPixels = PNG_MAX_PIXELS): RawImage {
  const { header, palette, transparency, compressed } = readChunks(bytes);
  const { width, height, bitDepth, colorType } = header;
  if (width * height > maxPixels) {
    fail(`image size ${width}x${height} exceeds the limit of ${maxPixels} pixels`);
  }
  if (colorType === 3 && !palette) fail("palette image (colour type 3) has no PLTE chunk");
  const stride = Math.ceil((width * SAMPLES_OF_COLOR_TYPE[colorType]! * bitDepth) / 8);
  let raw: Uint8Array;
  try {
    // Decoders tolerate trailing bytes after the rows; a little slack keeps such files readable.
    raw = new Uint8Array(inflateSync(compressed, { maxOutputLength: height * (stride + 1) + 1024 }));
  } catch (e) {
    fail(`IDAT data does not decompress (${(e as Error).message})`);
  }
  if (raw.length < height * (stride + 1)) {
    fail(`IDAT data holds ${raw.length} bytes, expected ${height * (stride + 1)} for ${width}x${height}`);
  }
  const bpp = Math.max(1, (SAMPLES_OF_COLOR_TYPE[colorType]! * bitDepth) / 8);
  const rows = unfilter(raw, stride, height, bpp);
  return toImage(rows, header, stride, palette, transparency);
}

function readChunks(bytes: Uint8Array): Chunks {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) fail("not a PNG file (bad signature)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Uint8Array[] = [];
  let header: Header | undefined;
  let palette: Uint8Array | undefined;
  let transparency: Uint8Array | undefined;
  for (let at = 8; ; ) {
    if (at + 12 > bytes.length) fail(`file ends at byte ${bytes.length} before the IEND chunk (truncated?)`);
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (at + 12 + length > bytes.length) {
      fail(`chunk ${JSON.stringify(type)} at byte ${at} declares ${length} bytes, past the end of the file`);
    }
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== view.getUint32(at + 8 + length)) {
      fail(`chunk ${JSON.stringify(type)} at byte ${at} has a bad CRC (corrupt file)`);
    }
    at += 12 + length;
    if (!header && type !== "IHDR") fail(`first chunk is ${JSON.stringify(type)}, expected IHDR`);
    if (type === "IHDR") header = readHeader(body);
    else if (type === "PLTE") palette = readPalette(body);
    else if (type === "tRNS") transparency = body;
    else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") break;
    else if (type.charCodeAt(0) < 97) fail(`unknown critical chunk ${JSON.stringify(type)}`);
  }
  if (idat.length === 0) fail("no IDAT chunk (no image data)");
  return { header: header!, palette, transparency, compressed: concat(idat) };
}

function readHeader(body: Uint8Array): Header {
  if (body.length !== 13) fail(`IHDR is ${body.length} bytes, expected 13`);
  const view = new DataView(body.buffer, body.byteOffset, 13);
  const [width, height] = [view.getUint32(0), view.getUint32(4)];
  const [bitDepth, colorType, compression, filter, interlace] = body.subarray(8, 13) as unknown as number[];
  if (width === 0 || height === 0) fail(`image size ${width}x${height}, expected both positive`);
  const depths = BIT_DEPTHS_OF_COLOR_TYPE[colorType!];
  if (!depths) fail(`colour type ${colorType}, expected 0, 2, 3, 4 or 6`);
  if (!depths.includes(bitDepth!)) {
    fail(
      `bit depth ${bitDepth} is invalid for colour type ${colorType} (expected one of ${depths.join(", ")})`,
    );
  }
  if (compression !== 0) fail(`compression method ${compression}, expected 0`);
  if (filter !== 0) fail(`filter method ${filter}, expected 0`);
  if (interlace !== 0) {
    fail(`interlace method ${interlace} (Adam7) is not supported; save the image non-interlaced`);
  }
  return { width, height, bitDepth: bitDepth!, colorType: colorType! };
}

function readPalette(body: Uint8Array): Uint8Array {
  if (body.length === 0 || body.length % 3 !== 0 || body.length > 768) {
    fail(`PLTE is ${body.length} bytes, expected a multiple of 3 up to 768`);
  }
  return body;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Reverses the per-row filters in place; returns the rows without their filter-type bytes. */
function unfilter(raw: Uint8Array, stride: number, height: number, bpp: number): Uint8Array {
  const out = new Uint8Array(height * stride);
  const zero = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const type = raw[y * (stride + 1)]!;
    if (type > 4) fail(`row ${y} has filter type ${type}, expected 0 to 4`);
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = out.subarray(y * stride, (y + 1) * stride);
    const up = y === 0 ? zero : out.subarray((y - 1) * stride, y * stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? row[i - bpp]! : 0;
      const c = i >= bpp ? up[i - bpp]! : 0;
      row[i] = (src[i]! + predict(type, a, up[i]!, c)) & 0xff;
    }
  }
  return out;
}

/** Converts unfiltered rows to 8-bit interleaved pixels, expanding palettes and tRNS to alpha. */
function toImage(
  rows: Uint8Array,
  { width, height, bitDepth, colorType }: Header,
  stride: number,
  palette: Uint8Array | undefined,
  transparency: Uint8Array | undefined,
): RawImage {
  const samples = SAMPLES_OF_COLOR_TYPE[colorType]!;
  if (bitDepth === 8 && colorType !== 3 && !transparency) {
    return { width, height, channels: samples as RawImage["channels"], data: rows };
  }
  const sample = sampleReader(rows, stride, bitDepth);
  const scale = colorType === 3 ? (v: number) => v : scaler(bitDepth);
  const hasAlpha = colorType === 4 || colorType === 6 || transparency !== undefined;
  const colours = colorType === 0 || colorType === 4 ? 1 : 3;
  const channels = (colours + (hasAlpha ? 1 : 0)) as RawImage["channels"];
  const key = colorType === 0 || colorType === 2 ? transparentKey(transparency, colours) : undefined;
  const data = new Uint8Array(width * height * channels);
  const pixel = new Array<number>(samples);
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o += channels) {
      for (let s = 0; s < samples; s++) pixel[s] = sample(y, x * samples + s);
      if (colorType === 3) {
        writePaletteEntry(data, o, pixel[0]!, palette!, transparency, channels);
        continue;
      }
      for (let s = 0; s < samples; s++) data[o + s] = scale(pixel[s]!);
      if (key) data[o + colours] = key.every((k, s) => pixel[s] === k) ? 0 : 255;
    }
  }
  return { width, height, channels, data };
}

/** Sample `i` of row `y` at any bit depth (1/2/4-bit samples are packed high bits first). */
function sampleReader(rows: Uint8Array, stride: number, bitDepth: number): (y: number, i: number) => number {
  if (bitDepth === 8) return (y, i) => rows[y * stride + i]!;
  if (bitDepth === 16) return (y, i) => (rows[y * stride + 2 * i]! << 8) | rows[y * stride + 2 * i + 1]!;
  const mask = (1 << bitDepth) - 1;
  return (y, i) => {
    const bit = i * bitDepth;
    return (rows[y * stride + (bit >> 3)]! >> (8 - bitDepth - (bit & 7))) & mask;
  };
}

/** Maps a sample of `bitDepth` bits to 0..255 (exact for 1/2/4 bits; 16-bit rounds to nearest). */
function scaler(bitDepth: number): (v: number) => number {
  if (bitDepth === 16) return (v) => Math.round(v / 257);
  const factor = 255 / ((1 << bitDepth) - 1);
  return (v) => v * factor;
}

/** The tRNS colour key (grey or RGB samples at the image's bit depth) that marks transparent pixels. */
function transparentKey(transparency: Uint8Array | undefined, colours: number): number[] | undefined {
  if (!transparency) return undefined;
  if (transparency.length !== 2 * colours) {
    fail(`tRNS is ${transparency.length} bytes, expected ${2 * colours} for this colour type`);
  }
  return Array.from({ length: colours }, (_, s) => (transparency[2 * s]! << 8) | transparency[2 * s + 1]!);
}

function writePaletteEntry(
  data: Uint8Array,
  o: number,
  index: number,
  palette: Uint8Array,
  transparency: Uint8Array | undefined,
  channels: number,
): void {
  if (3 * index >= palette.length)
    fail(`pixel uses palette index ${index}, but PLTE has ${palette.length / 3} entries`);
  data[o] = palette[3 * index]!;
  data[o + 1] = palette[3 * index + 1]!;
  data[o + 2] = palette[3 * index + 2]!;
  if (channels === 4) data[o + 3] = transparency && index < transparency.length ? transparency[index]! : 255;
}
