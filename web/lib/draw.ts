/** Canvas drawing for the playground: image grids, point clouds, a loss curve. Plain 2-D canvas. */

/** Draws images [N, 1, H, W] (values in [-1, 1]) as a grid of `cols` columns, each pixel `scale` px. */
export function drawImages(
  canvas: HTMLCanvasElement,
  values: Float32Array,
  n: number,
  h: number,
  w: number,
  cols: number,
  scale = 3,
): void {
  const rows = Math.ceil(n / cols);
  const pad = 2;
  canvas.width = cols * (w + pad) * scale;
  canvas.height = rows * (h + pad) * scale;
  const ctx = canvas.getContext("2d")!;
  ctx.fillStyle = "#222";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const img = new ImageData(w, h);
  const tile = document.createElement("canvas");
  tile.width = w;
  tile.height = h;
  const tctx = tile.getContext("2d")!;
  ctx.imageSmoothingEnabled = false;
  for (let k = 0; k < n; k++) {
    for (let p = 0; p < h * w; p++) {
      const v = Math.round(((Math.max(-1, Math.min(1, values[k * h * w + p]!)) + 1) / 2) * 255);
      img.data[4 * p] = v;
      img.data[4 * p + 1] = v;
      img.data[4 * p + 2] = v;
      img.data[4 * p + 3] = 255;
    }
    tctx.putImageData(img, 0, 0);
    const x = (k % cols) * (w + pad) + pad / 2;
    const y = Math.floor(k / cols) * (h + pad) + pad / 2;
    ctx.drawImage(tile, x * scale, y * scale, w * scale, h * scale);
  }
}

const CLASS_COLOURS = ["#d9480f", "#1971c2"];

/** Where data units land on a canvas: the centre (data units) and pixels per unit. */
export interface View {
  cx: number;
  cy: number;
  scale: number;
}

/** A view that fits `data` with a 15% margin, one scale for both axes (circles stay round). */
export function fitView(canvas: HTMLCanvasElement, data: Float32Array): View {
  const lo = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const hi = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (let i = 0; i < data.length; i++) {
    lo[i % 2] = Math.min(lo[i % 2]!, data[i]!);
    hi[i % 2] = Math.max(hi[i % 2]!, data[i]!);
  }
  const scale = Math.min(canvas.width / (hi[0]! - lo[0]!), canvas.height / (hi[1]! - lo[1]!)) / 1.3;
  return { cx: (lo[0]! + hi[0]!) / 2, cy: (lo[1]! + hi[1]!) / 2, scale };
}

/** Canvas pixel (x right, y down) to data units (y up) and back. */
export function toData(canvas: HTMLCanvasElement, v: View, px: number, py: number): [number, number] {
  return [v.cx + (px - canvas.width / 2) / v.scale, v.cy - (py - canvas.height / 2) / v.scale];
}

/** Data points in light grey, samples coloured by class; the view fits the data unless one is given. */
export function drawPoints(
  canvas: HTMLCanvasElement,
  data: Float32Array,
  samples: Float32Array | null,
  sampleLabels: Int32Array | null,
  view: View = fitView(canvas, data),
): void {
  const ctx = canvas.getContext("2d")!;
  const { width: W, height: H } = canvas;
  const px = (x: number) => W / 2 + (x - view.cx) * view.scale;
  const py = (y: number) => H / 2 - (y - view.cy) * view.scale;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, W, H);
  ctx.fillStyle = "#bbb";
  for (let i = 0; i < data.length; i += 2) ctx.fillRect(px(data[i]!) - 1.5, py(data[i + 1]!) - 1.5, 3, 3);
  if (!samples) return;
  for (let i = 0; i < samples.length / 2; i++) {
    ctx.fillStyle = CLASS_COLOURS[(sampleLabels?.[i] ?? 1) % 2]!;
    ctx.beginPath();
    ctx.arc(px(samples[2 * i]!), py(samples[2 * i + 1]!), 2.2, 0, 2 * Math.PI);
    ctx.fill();
  }
}

/** The loss per step (log scale), with a running mean over 20 steps. */
export function drawLoss(canvas: HTMLCanvasElement, losses: readonly number[]): void {
  const ctx = canvas.getContext("2d")!;
  const { width: W, height: H } = canvas;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, W, H);
  if (losses.length < 2) return;
  const logs = losses.map((l) => Math.log10(Math.max(l, 1e-6)));
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  const x = (i: number) => 30 + (i / (losses.length - 1)) * (W - 40);
  const y = (v: number) => 10 + ((hi - v) / Math.max(hi - lo, 1e-6)) * (H - 30);
  const line = (vals: number[], colour: string) => {
    ctx.strokeStyle = colour;
    ctx.beginPath();
    for (const [i, v] of vals.entries()) {
      if (i === 0) ctx.moveTo(x(i), y(v));
      else ctx.lineTo(x(i), y(v));
    }
    ctx.stroke();
  };
  line(logs, "#bbb");
  const mean = logs.map((_, i) => {
    const from = Math.max(0, i - 19);
    return logs.slice(from, i + 1).reduce((a, b) => a + b, 0) / (i + 1 - from);
  });
  line(mean, "#1971c2");
  ctx.fillStyle = "#333";
  ctx.font = "11px sans-serif";
  ctx.fillText(`${10 ** hi < 10 ? (10 ** hi).toPrecision(2) : ""}`, 2, 14);
  ctx.fillText(`${(10 ** lo).toPrecision(2)}`, 2, H - 20);
  ctx.fillText(`step ${losses.length}`, W - 60, H - 4);
}
