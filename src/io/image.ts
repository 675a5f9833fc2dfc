/**
 * 8-bit raster images (interleaved HWC bytes) and the sample grid that tiles a batch of model outputs.
 * Browser-safe; PNG encoding lives in png.ts.
 */

/** An 8-bit image: `data[(y * width + x) * channels + c]`. Channels: grey, grey+alpha, RGB, RGBA. */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array;
}

export interface GridOptions {
  /** Images per row (torchvision's `nrow`); default 8. */
  nrow?: number;
  /** Pixels between and around the tiles; default 2. */
  padding?: number;
  /** Byte value of the padding, 0..255; default 0 (black, transparent for RGBA). */
  padValue?: number;
}

/** The byte for a model-space value `v` in [-1, 1]: clamp, map to [0, 255], round half up. */
export function toByte(v: number): number {
  // torchvision save_image(make_grid((x + 1) / 2)): mul(255).add(0.5).clamp(0, 255) then truncate.
  const b = Math.floor(((v + 1) / 2) * 255 + 0.5);
  return b < 0 ? 0 : b > 255 ? 255 : Number.isNaN(b) ? 0 : b;
}

/**
 * Tiles a batch `images` of shape [N, C, H, W] (NCHW, values in [-1, 1]) into one image, laid out like
 * torchvision's `make_grid`: `min(nrow, N)` columns, `ceil(N / columns)` rows, each tile at
 * `(padding + row * (H + padding), padding + col * (W + padding))`, the rest filled with `padValue`.
 * As in make_grid, a batch of one image gives that image without padding. Unlike make_grid, a
 * 1-channel batch stays 1-channel (make_grid repeats it to RGB; the pixels are the same).
 */
export function imageGrid(
  images: Float32Array,
  shape: readonly [number, number, number, number],
  options: GridOptions = {},
): RawImage {
  const [n, c, h, w] = checkGridInput(images, shape);
  const { nrow = 8, padding = 2, padValue = 0 } = options;
  checkInteger("nrow", nrow, 1);
  checkInteger("padding", padding, 0);
  checkInteger("padValue", padValue, 0, 255);
  const pad = n === 1 ? 0 : padding;
  const cols = Math.min(nrow, n);
  const rows = Math.ceil(n / cols);
  const width = cols * (w + pad) + pad;
  const height = rows * (h + pad) + pad;
  const data = new Uint8Array(width * height * c).fill(padValue);
  for (let i = 0; i < n; i++) {
    const top = pad + Math.floor(i / cols) * (h + pad);
    const left = pad + (i % cols) * (w + pad);
    for (let ch = 0; ch < c; ch++) {
      const plane = (i * c + ch) * h * w;
      for (let y = 0; y < h; y++) {
        const row = ((top + y) * width + left) * c + ch;
        for (let x = 0; x < w; x++) data[row + x * c] = toByte(images[plane + y * w + x]!);
      }
    }
  }
  return { width, height, channels: c as RawImage["channels"], data };
}

function checkGridInput(images: Float32Array, shape: readonly number[]): [number, number, number, number] {
  if (shape.length !== 4) throw new Error(`imageGrid: shape [${shape.join(", ")}] must be [N, C, H, W]`);
  shape.forEach((d, i) => {
    checkInteger(`shape[${i}]`, d, 1);
  });
  const [n, c, h, w] = shape as [number, number, number, number];
  if (c < 1 || c > 4)
    throw new Error(`imageGrid: channels C = ${c} in shape [${shape.join(", ")}], expected 1 to 4`);
  if (images.length !== n * c * h * w) {
    throw new Error(
      `imageGrid: ${images.length} values do not match shape [${shape.join(", ")}] (${n * c * h * w})`,
    );
  }
  return [n, c, h, w];
}

function checkInteger(field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`imageGrid: ${field} = ${value}, expected an integer in [${min}, ${max}]`);
  }
}
