/** Eager kernels for batched matmul and 2-D convolutions (direct loops; the reference, not the fast path). */
import type { Aval } from "../aval.js";
import { allocate } from "../dtype.js";
import type { ConvParams, PrimitiveParams } from "../primitives.js";
import { broadcastStrides, forEachStrided, size } from "../shape.js";
import type { Kernel } from "./types.js";

export const matmulKernel: Kernel<PrimitiveParams["matmul"]> = ([a, b], [sa, sb], _p, out) => {
  const [m, k] = sa.shape.slice(-2);
  const n = sb.shape[sb.shape.length - 1];
  const batch = out.shape.slice(0, -2);
  const y = allocate(out.dtype, size(out.shape));
  const stA = broadcastStrides(sa.shape.slice(0, -2), batch).map((s) => s * m * k);
  const stB = broadcastStrides(sb.shape.slice(0, -2), batch).map((s) => s * k * n);
  const acc = new Float64Array(n);
  forEachStrided(batch, [stA, stB], (bi, [oa, ob]) => {
    const oy = bi * m * n;
    for (let i = 0; i < m; i++) {
      acc.fill(0);
      for (let p = 0; p < k; p++) {
        const av = a[oa + i * k + p];
        if (av === 0) continue;
        const row = ob + p * n;
        for (let j = 0; j < n; j++) acc[j] += av * b[row + j];
      }
      for (let j = 0; j < n; j++) y[oy + i * n + j] = acc[j];
    }
  });
  return y;
};

/** Loop geometry of a convolution, in conv2d's orientation (x -> y). */
interface Geometry {
  B: number;
  Ci: number;
  H: number;
  W: number;
  Co: number;
  Ho: number;
  Wo: number;
  kh: number;
  kw: number;
  cig: number;
  cog: number;
}

function geometry(x: Aval, y: Aval, kernel: readonly number[], groups: number): Geometry {
  const [B, Ci, H, W] = x.shape;
  const [, Co, Ho, Wo] = y.shape;
  return { B, Ci, H, W, Co, Ho, Wo, kh: kernel[0], kw: kernel[1], cig: Ci / groups, cog: Co / groups };
}

/**
 * Visits every (input pixel, weight tap, output pixel) triple of conv2d:
 * y[b,co,oy,ox] += w[co,ci_local,ky,kx] * x[b,ci,oy*s-p+ky*d, ox*s-p+kx*d].
 * `f(xi, wi, yi)` receives flat indices of x, w (layout [Co,Ci/g,kh,kw]) and y.
 */
function visitConv(g: Geometry, p: ConvParams, f: (xi: number, wi: number, yi: number) => void): void {
  const [sh, sw] = p.stride;
  const [dh, dw] = p.dilation;
  const [pt, pl] = p.padding;
  for (let b = 0; b < g.B; b++)
    for (let co = 0; co < g.Co; co++) {
      const grp = Math.floor(co / g.cog);
      for (let cl = 0; cl < g.cig; cl++) {
        const ci = grp * g.cig + cl;
        for (let ky = 0; ky < g.kh; ky++)
          for (let kx = 0; kx < g.kw; kx++) {
            const wi = ((co * g.cig + cl) * g.kh + ky) * g.kw + kx;
            for (let oy = 0; oy < g.Ho; oy++) {
              const iy = oy * sh - pt + ky * dh;
              if (iy < 0 || iy >= g.H) continue;
              const xrow = ((b * g.Ci + ci) * g.H + iy) * g.W;
              const yrow = ((b * g.Co + co) * g.Ho + oy) * g.Wo;
              for (let ox = 0; ox < g.Wo; ox++) {
                const ix = ox * sw - pl + kx * dw;
                if (ix >= 0 && ix < g.W) f(xrow + ix, wi, yrow + ox);
              }
            }
          }
      }
    }
}

export const conv2dKernel: Kernel<PrimitiveParams["conv2d"]> = ([x, w], [sx, sw], p, out) => {
  const y = new Float64Array(size(out.shape));
  visitConv(geometry(sx, out, sw.shape.slice(2), p.groups), p, (xi, wi, yi) => {
    y[yi] += x[xi] * w[wi];
  });
  return Float32Array.from(y);
};

/** convTranspose2d is conv2d's adjoint: the same triples with x and y swapped. w is [Ci,Co/g,kh,kw]. */
export const convTranspose2dKernel: Kernel<PrimitiveParams["convTranspose2d"]> = (
  [x, w],
  [sx, sw],
  p,
  out,
) => {
  const y = new Float64Array(size(out.shape));
  // In conv2d orientation the transposed conv's output is the "x" and its input the "y".
  const g = geometry(out, sx, sw.shape.slice(2), p.groups);
  visitConv(g, p, (yi, wi, xi) => {
    y[yi] += x[xi] * w[wi];
  });
  return Float32Array.from(y);
};

export const convWeightGradKernel: Kernel<PrimitiveParams["convWeightGrad"]> = (
  [x, dy],
  [sx, sdy],
  p,
  out,
) => {
  const dw = new Float64Array(size(out.shape));
  visitConv(geometry(sx, sdy, p.kernel, p.groups), p, (xi, wi, yi) => {
    dw[wi] += x[xi] * dy[yi];
  });
  return Float32Array.from(dw);
};
