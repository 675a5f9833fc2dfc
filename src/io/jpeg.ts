/**
 * JPEG decoding (baseline and progressive, via the `jpeg-js` decoder) into 8-bit RGBA. jpeg-js throws
 * plain `Error`s (and, on some corrupt inputs, `TypeError`/`RangeError`s from its internals); every
 * failure of the decoder is about the input bytes, so each becomes a `JpegError` (an `InputError`).
 * Resource limits (pixels, memory) are passed to the decoder so a crafted header cannot make it
 * allocate gigabytes. Browser-safe with typed arrays (`useTArray`).
 */
import { decode } from "jpeg-js";
import type { RawImage } from "./image.js";
import { InputError } from "./input-error.js";

/** Any JPEG that jpeg-js cannot decode, or one beyond the resource limits. */
export class JpegError extends InputError {
  override name = "JpegError";
}

export interface JpegLimits {
  /** Largest image accepted, in megapixels (default 100). */
  maxMegapixels?: number;
  /** Largest decoder working memory, in MB (default 1024). */
  maxMemoryMB?: number;
}

/** Whether `bytes` start with the JPEG SOI marker (FF D8). */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8;
}

/** Decodes JPEG bytes into an RGBA image; any failure is a JpegError naming what the decoder said. */
export function decodeJpeg(bytes: Uint8Array, limits: JpegLimits = {}): RawImage {
  if (!isJpeg(bytes)) throw new JpegError("jpeg: not a JPEG file (no FF D8 start-of-image marker)");
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: limits.maxMegapixels ?? 100,
      maxMemoryUsageInMB: limits.maxMemoryMB ?? 1024,
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new JpegError(`jpeg: ${message}`, { cause: e });
  }
  const { width, height, data } = img;
  if (!(width >= 1 && height >= 1) || data.length !== width * height * 4) {
    throw new JpegError(`jpeg: decoded ${width}x${height} image with ${data.length} bytes (corrupt file)`);
  }
  return { width, height, channels: 4, data };
}
