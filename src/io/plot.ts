/**
 * Minimal raster plots for run reports (no fonts, no dependencies): a scatter plot of 2-D points (the
 * samples of a point-cloud model, over the training data in grey) and a line chart of the loss curve.
 * They return 8-bit RGB images for `encodePng`. Browser-safe.
 */
import type { RawImage } from "./image.js";

type RGB = readonly [number, number, number];

export interface Bounds {
  xmin: number;
  xmax: number;
  ymin: number;
  ymax: number;
}

function canvas(width: number, height: number): RawImage {
  return { width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(255) };
}

function plot(img: RawImage, x: number, y: number, c: RGB, alpha = 1): void {
  const xi = Math.round(x);
  const yi = Math.round(y);
  if (xi < 0 || yi < 0 || xi >= img.width || yi >= img.height) return;
  const o = (yi * img.width + xi) * 3;
  for (let k = 0; k < 3; k++) img.data[o + k] = Math.round(img.data[o + k]! * (1 - alpha) + c[k]! * alpha);
}

/** The bounding box of [N, 2] points (or several sets), padded by 5% on each side. */
export function boundsOf(...sets: Float32Array[]): Bounds {
  let [xmin, xmax, ymin, ymax] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const p of sets) {
    for (let i = 0; i + 1 < p.length; i += 2) {
      if (!Number.isFinite(p[i]!) || !Number.isFinite(p[i + 1]!)) continue;
      xmin = Math.min(xmin, p[i]!);
      xmax = Math.max(xmax, p[i]!);
      ymin = Math.min(ymin, p[i + 1]!);
      ymax = Math.max(ymax, p[i + 1]!);
    }
  }
  if (!(xmax > xmin)) [xmin, xmax] = [xmin - 1, xmin + 1];
  if (!(ymax > ymin)) [ymin, ymax] = [ymin - 1, ymin + 1];
  const px = 0.05 * (xmax - xmin);
  const py = 0.05 * (ymax - ymin);
  return { xmin: xmin - px, xmax: xmax + px, ymin: ymin - py, ymax: ymax + py };
}

export interface ScatterOptions {
  /** Side of the square image in pixels (default 512). */
  size?: number;
  /** Points drawn first in light grey (e.g. the training data). */
  background?: Float32Array;
  bounds?: Bounds;
}

/** A scatter plot of `points` [N, 2] (x right, y up); the first two columns are used if wider. */
export function scatterPlot(points: Float32Array, dim = 2, options: ScatterOptions = {}): RawImage {
  const size = options.size ?? 512;
  const take = (p: Float32Array) => {
    if (dim === 2) return p;
    const out = new Float32Array((p.length / dim) * 2);
    for (let i = 0; i < p.length / dim; i++) [out[2 * i], out[2 * i + 1]] = [p[i * dim]!, p[i * dim + 1]!];
    return out;
  };
  const pts = take(points);
  const bg = options.background ? take(options.background) : undefined;
  const b = options.bounds ?? boundsOf(...(bg ? [pts, bg] : [pts]));
  const img = canvas(size, size);
  const toPx = (x: number, y: number): [number, number] => [
    ((x - b.xmin) / (b.xmax - b.xmin)) * (size - 1),
    (1 - (y - b.ymin) / (b.ymax - b.ymin)) * (size - 1),
  ];
  const draw = (p: Float32Array, c: RGB, alpha: number, r: number) => {
    for (let i = 0; i + 1 < p.length; i += 2) {
      const [px, py] = toPx(p[i]!, p[i + 1]!);
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) plot(img, px + dx, py + dy, c, alpha);
    }
  };
  if (bg) draw(bg, [140, 140, 140], 0.7, 0);
  draw(pts, [31, 119, 180], 0.6, 1);
  return img;
}

export interface LineChartOptions {
  width?: number;
  height?: number;
  /** Plot log10(y) (default true: losses span decades). */
  logY?: boolean;
}

/**
 * A line chart of one or more series sharing axes (e.g. training and validation loss against step):
 * light grid lines at the decades (log scale) or at 5 even intervals, no text.
 */
export function lineChart(
  series: { x: ArrayLike<number>; y: ArrayLike<number>; color: RGB }[],
  options: LineChartOptions = {},
): RawImage {
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  const logY = options.logY ?? true;
  const fy = (v: number) => (logY ? Math.log10(Math.max(v, 1e-12)) : v);
  let [xmin, xmax, ymin, ymax] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      if (!Number.isFinite(s.y[i]!)) continue;
      xmin = Math.min(xmin, s.x[i]!);
      xmax = Math.max(xmax, s.x[i]!);
      ymin = Math.min(ymin, fy(s.y[i]!));
      ymax = Math.max(ymax, fy(s.y[i]!));
    }
  }
  if (!(xmax > xmin)) xmax = xmin + 1;
  if (!(ymax > ymin)) ymax = ymin + 1;
  const img = canvas(width, height);
  const m = 10;
  const X = (x: number) => m + ((x - xmin) / (xmax - xmin)) * (width - 2 * m);
  const Y = (y: number) => height - m - ((fy(y) - ymin) / (ymax - ymin)) * (height - 2 * m);
  const gridYs = logY
    ? Array.from({ length: Math.floor(ymax) - Math.ceil(ymin) + 1 }, (_, i) => 10 ** (Math.ceil(ymin) + i))
    : Array.from({ length: 6 }, (_, i) => ymin + ((ymax - ymin) * i) / 5);
  for (const g of gridYs) for (let x = m; x < width - m; x++) plot(img, x, Y(g), [220, 220, 220]);
  for (let y = m; y < height - m; y++) plot(img, m, y, [120, 120, 120]);
  for (let x = m; x < width - m; x++) plot(img, x, height - m, [120, 120, 120]);
  for (const s of series) {
    for (let i = 1; i < s.x.length; i++) {
      const [x0, y0, x1, y1] = [X(s.x[i - 1]!), Y(s.y[i - 1]!), X(s.x[i]!), Y(s.y[i]!)];
      const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
      for (let k = 0; k <= n; k++) plot(img, x0 + ((x1 - x0) * k) / n, y0 + ((y1 - y0) * k) / n, s.color);
    }
  }
  return img;
}
