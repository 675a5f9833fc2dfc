/** nn.Linear and nn.Embedding with PyTorch's parameter names and default initialisation. */
import * as T from "../tensor/index.js";
import { expectDim, expectFloat, expectMinRank, expectPositiveInt, fail, fmtShape } from "./check.js";
import { fanInUniform, standardNormalInit } from "./init.js";
import { Module, type Params } from "./module.js";

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  /** default true */
  bias?: boolean;
}

/** y = x W^T + b over the last axis (torch.nn.Linear); `weight` [out, in], `bias` [out]. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly hasBias: boolean;

  constructor(path: string, o: LinearOptions) {
    super(path);
    expectPositiveInt(this.label, "inFeatures", o.inFeatures);
    expectPositiveInt(this.label, "outFeatures", o.outFeatures);
    this.inFeatures = o.inFeatures;
    this.outFeatures = o.outFeatures;
    this.hasBias = o.bias ?? true;
    this.addParam("weight", [o.outFeatures, o.inFeatures], fanInUniform(o.inFeatures));
    if (this.hasBias) this.addParam("bias", [o.outFeatures], fanInUniform(o.inFeatures));
  }

  forward(params: Params, x: T.Tensor): T.Tensor {
    expectMinRank(this.label, x, 1);
    expectFloat(this.label, x);
    expectDim(this.label, x, -1, this.inFeatures, "features");
    const bias = this.hasBias ? this.param(params, "bias") : undefined;
    return T.linear(x, this.param(params, "weight"), bias);
  }
}

export interface EmbeddingOptions {
  numEmbeddings: number;
  embeddingDim: number;
}

/** Table lookup (torch.nn.Embedding): int32 indices of any shape -> [...indices, embeddingDim]. */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;

  constructor(path: string, o: EmbeddingOptions) {
    super(path);
    expectPositiveInt(this.label, "numEmbeddings", o.numEmbeddings);
    expectPositiveInt(this.label, "embeddingDim", o.embeddingDim);
    this.numEmbeddings = o.numEmbeddings;
    this.embeddingDim = o.embeddingDim;
    this.addParam("weight", [o.numEmbeddings, o.embeddingDim], standardNormalInit);
  }

  forward(params: Params, indices: T.Tensor): T.Tensor {
    if (indices.dtype !== "int32") {
      fail(this.label, `indices must be int32, got ${indices.dtype} ${fmtShape(indices.shape)}`);
    }
    if (!indices.isSymbolic) {
      const v = indices.values();
      for (let i = 0; i < v.length; i++) {
        if (!(v[i]! >= 0 && v[i]! < this.numEmbeddings)) {
          fail(this.label, `index ${v[i]} at position ${i} is outside [0, ${this.numEmbeddings})`);
        }
      }
    }
    return T.gather(this.param(params, "weight"), indices);
  }
}
