import { describe, expect, it } from "vitest";
import { Attention } from "../../src/nn/attention.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { expectClose, rand } from "../helpers.js";

/** Multi-head self-attention by plain loops over tokens X [L, C] (one sample). */
function naive(x: number[][], p: Record<string, number[]>, heads: number): number[][] {
  const c = x[0]!.length;
  const lin = (v: number[], w: number[], b: number[], n: number) =>
    Array.from({ length: n }, (_, o) => b[o]! + v.reduce((s, vi, i) => s + vi * w[o * v.length + i]!, 0));
  const q = x.map((v) => lin(v, p.wq!, p.bq!, c));
  const k = x.map((v) => lin(v, p.wk!, p.bk!, c));
  const val = x.map((v) => lin(v, p.wv!, p.bv!, c));
  const d = c / heads;
  const out = x.map(() => new Array<number>(c).fill(0));
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < x.length; i++) {
      const s = k.map((kj) => {
        let dot = 0;
        for (let e = 0; e < d; e++) dot += q[i]![h * d + e]! * kj[h * d + e]!;
        return dot / Math.sqrt(d);
      });
      const m = Math.max(...s);
      const w = s.map((v) => Math.exp(v - m));
      const z = w.reduce((a, b) => a + b, 0);
      for (let e = 0; e < d; e++)
        out[i]![h * d + e] = w.reduce((acc, wj, j) => acc + (wj / z) * val[j]![h * d + e]!, 0);
    }
  }
  return out.map((v, i) => lin(v, p.wo!, p.bo!, c).map((o, j) => o + x[i]![j]!));
}

describe("Attention", () => {
  it("matches multi-head scaled dot-product self-attention with residual (no group norm)", () => {
    const attn = new Attention("a", { queryDim: 4, heads: 2, dimHead: 2 }).init(makeKey(5));
    const p = attn.parameters();
    const x = rand(6, [1, 4, 1, 3]); // C = 4 channels, 3 tokens
    const y = attn.forward(p, x).toArray();
    const xv = x.toArray();
    const tokens = [0, 1, 2].map((l) => [0, 1, 2, 3].map((ch) => xv[ch * 3 + l]!));
    const get = (n: string) => p[`a.${n}`]!.toArray();
    const want = naive(
      tokens,
      {
        wq: get("to_q.weight"),
        bq: get("to_q.bias"),
        wk: get("to_k.weight"),
        bk: get("to_k.bias"),
        wv: get("to_v.weight"),
        bv: get("to_v.bias"),
        wo: get("to_out.0.weight"),
        bo: get("to_out.0.bias"),
      },
      2,
    );
    const wantNCHW = [0, 1, 2, 3].flatMap((ch) => [0, 1, 2].map((l) => want[l]![ch]!));
    expectClose(y, wantNCHW, 1e-5, 1e-6, "attention");
  });

  it("has diffusers' parameter names, rescales the output, and keeps the shape", () => {
    const attn = new Attention("mid_block.attentions.0", {
      queryDim: 8,
      heads: 2,
      dimHead: 4,
      normNumGroups: 4,
      rescaleOutputFactor: 2,
    });
    expect(Object.keys(attn.parameters())).toEqual(
      [
        "group_norm.weight",
        "group_norm.bias",
        "to_q.weight",
        "to_q.bias",
        "to_k.weight",
        "to_k.bias",
        "to_v.weight",
        "to_v.bias",
        "to_out.0.weight",
        "to_out.0.bias",
      ].map((n) => `mid_block.attentions.0.${n}`),
    );
    const p = attn.parameters();
    const x = rand(7, [2, 8, 3, 2]);
    const zeroOut = {
      ...p,
      "mid_block.attentions.0.to_out.0.weight": T.zeros([8, 8]),
      "mid_block.attentions.0.to_out.0.bias": T.zeros([8]),
    };
    expectClose(
      attn.forward(zeroOut, x).toArray(),
      x.toArray().map((v) => v / 2),
      1e-6,
      1e-7,
      "residual / 2",
    );
    expect(attn.forward(p, T.transpose(T.reshape(x, [2, 8, 6]), [0, 2, 1])).shape).toEqual([2, 6, 8]);
  });

  it("names itself and both shapes on bad input", () => {
    const attn = new Attention("down_blocks.1.attentions.0", {
      queryDim: 8,
      heads: 1,
      dimHead: 8,
      normNumGroups: 4,
    });
    expect(() => attn.forward(attn.parameters(), T.zeros([1, 4, 2, 2]))).toThrow(
      "down_blocks.1.attentions.0: input has 4 channels [1, 4, 2, 2], expected 8",
    );
    expect(() => attn.forward(attn.parameters(), T.zeros([8, 2]))).toThrow(
      "down_blocks.1.attentions.0: input must be 4-D NCHW or 3-D [batch, tokens, channels], got [8, 2]",
    );
  });
});
