/**
 * Resource estimates of a model config, computed from the config alone, BEFORE any module or tensor is
 * built, so that a config.json asking for `layers_per_block: 1000000`, `sample_size: 1e9` or
 * `block_out_channels: [100000]` is refused in milliseconds with the estimate in the message instead
 * of running the process out of memory.
 *
 *   parameters   exact: the same count as `model.parameterCount()` (tested on random configs)
 *   layers       the number of layers (modules) the model would build; capped by MAX_LAYERS
 *   activations  per example, in float32 elements, at the config's sample size:
 *                - inference: the skip connections a U-Net keeps alive + the largest working set of
 *                  one layer (an attention's score matrix, heads x L^2, dominates at large sizes)
 *                - training: every intermediate a forward keeps for the backward pass
 *
 * The activation figures are estimates (ONNX Runtime reuses buffers; temporaries of fused ops are not
 * counted), meant to be within a small factor and to catch configs that are orders of magnitude too
 * large. `memoryNeeded` turns them into bytes for a batch; `checkMemory` compares with a limit that
 * the caller injects (Node: a fraction of the machine's memory, see resources-node.ts), keeping this
 * module browser-safe.
 */
import { InputError } from "../io/input-error.js";
import { type AutoencoderKLConfig, parseAutoencoderKLConfig } from "./autoencoder-kl-config.js";
import { ConfigError, type ParseOptions } from "./config-fields.js";
import { type MLPDenoiserConfig, parseMLPDenoiserConfig } from "./mlp-denoiser.js";
import {
  parseTutorialUNetConfig,
  TUTORIAL_UNET_CLASS,
  type TutorialUNetConfig,
} from "./tutorial-unet-config.js";
import { parseUNet2DConfig, type UNet2DConfig } from "./unet2d-config.js";

/** More layers than this is refused whatever the memory (each layer is a JS object and ONNX nodes). */
export const MAX_LAYERS = 100_000;

/** A resource request beyond a limit (memory, layers, threads, timesteps). */
export class ResourceError extends InputError {
  override name = "ResourceError";
}

export interface ModelEstimate {
  className: "UNet2DModel" | "AutoencoderKL" | "MLPDenoiser" | typeof TUTORIAL_UNET_CLASS;
  parameters: number;
  layers: number;
  /** float32 elements alive at the peak of one example's inference forward. */
  inferenceActivations: number;
  /** float32 elements a training forward keeps for the backward pass, per example. */
  trainingActivations: number;
}

/** Accumulates a walk over the layers a config describes. */
class Tally {
  parameters = 0;
  layers = 0;
  stored = 0;
  skips = 0;
  peakWork = 0;

  /** A layer with `params` parameters whose forward keeps `stored` and needs `work` elements at once. */
  layer(params: number, stored: number, work = stored): void {
    this.parameters += params;
    this.layers += 1;
    this.stored += stored;
    this.peakWork = Math.max(this.peakWork, work);
  }
}

const conv = (cin: number, cout: number, k: number): number => cout * cin * k * k + cout;
const linear = (fin: number, fout: number): number => fin * fout + fout;

interface ResnetOptions {
  temb: number | null;
  scaleShift: boolean;
}

/** ResnetBlock2D: norm1, conv1, (time_emb_proj), norm2, conv2, (conv_shortcut); `hw` pixels. */
function resnet(t: Tally, cin: number, cout: number, o: ResnetOptions, hw: number): void {
  let p = 2 * cin + conv(cin, cout, 3) + 2 * cout + conv(cout, cout, 3);
  if (o.temb !== null) p += linear(o.temb, o.scaleShift ? 2 * cout : cout);
  if (cin !== cout) p += conv(cin, cout, 1);
  t.layer(p, (2 * cin + 5 * cout) * hw, (cin + 3 * cout) * hw);
  t.layers += 6; // norms, convs, projection, dropout
}

/** Attention over `hw` tokens: heads = max(1, floor(c / dimHead)), inner = heads * dimHead. */
function attention(t: Tally, c: number, dimHead: number, groups: boolean, hw: number): void {
  const heads = Math.max(1, Math.floor(c / dimHead));
  const inner = heads * dimHead;
  const p = (groups ? 2 * c : 0) + 3 * linear(c, inner) + linear(inner, c);
  const scores = 2 * heads * hw * hw;
  t.layer(p, (c + 4 * inner) * hw + scores, (c + 4 * inner) * hw + scores);
  t.layers += 5;
}

const halve = (n: number): number => Math.ceil(n / 2);

function unetSize(c: UNet2DConfig): [number, number] {
  const s = c.sample_size;
  if (s === null) return [0, 0];
  return typeof s === "number" ? [s, s] : [s[0]!, s[1] ?? s[0]!];
}

/** UNet2DModel (unet2d.ts, unet2d-blocks.ts). */
function unet2d(c: UNet2DConfig): Tally {
  const t = new Tally();
  const ch = c.block_out_channels;
  const n = ch.length;
  const temb = 4 * ch[0]!;
  const r: ResnetOptions = { temb, scaleShift: c.resnet_time_scale_shift === "scale_shift" };
  let [h, w] = unetSize(c);
  const head = (out: number) => c.attention_head_dim ?? out;
  t.layer(conv(c.in_channels, ch[0]!, 3), ch[0]! * h * w);
  t.skips += ch[0]! * h * w;
  if (c.time_embedding_type === "learned") t.layer(c.num_train_timesteps! * ch[0]!, ch[0]!);
  t.layer(linear(ch[0]!, temb) + linear(temb, temb), 2 * temb);
  if (c.class_embed_type === null && c.num_class_embeds !== null) t.layer(c.num_class_embeds * temb, temb);
  if (c.class_embed_type === "timestep") t.layer(linear(ch[0]!, temb) + linear(temb, temb), 2 * temb);
  const levels: [number, number][] = [];
  ch.forEach((out, i) => {
    levels.push([h, w]);
    const attn = c.down_block_types[i] === "AttnDownBlock2D";
    for (let j = 0; j < c.layers_per_block; j++) {
      resnet(t, j === 0 ? (i === 0 ? ch[0]! : ch[i - 1]!) : out, out, r, h * w);
      if (attn) attention(t, out, head(out), true, h * w);
      t.skips += out * h * w;
    }
    if (i === n - 1) return;
    [h, w] = [halve(h), halve(w)];
    if ((attn ? c.downsample_type : "conv") === "conv") t.layer(conv(out, out, 3), out * h * w);
    else resnet(t, out, out, r, h * w);
    t.skips += out * h * w;
  });
  const last = ch[n - 1]!;
  if (c.add_attention) {
    const groups = c.attn_norm_num_groups !== null || c.resnet_time_scale_shift === "default";
    attention(t, last, head(last), groups, h * w);
  }
  resnet(t, last, last, r, h * w);
  resnet(t, last, last, r, h * w);
  const rev = [...ch].reverse();
  rev.forEach((out, i) => {
    const inCh = rev[Math.min(i + 1, n - 1)]!;
    const prev = i === 0 ? rev[0]! : rev[i - 1]!;
    const attn = c.up_block_types[i] === "AttnUpBlock2D";
    [h, w] = levels[n - 1 - i]!;
    const k = c.layers_per_block + 1;
    for (let j = 0; j < k; j++) {
      resnet(t, (j === 0 ? prev : out) + (j === k - 1 ? inCh : out), out, r, h * w);
      if (attn) attention(t, out, head(out), true, h * w);
    }
    if (i === n - 1) return;
    const [h2, w2] = levels[n - 2 - i]!;
    if ((attn ? c.upsample_type : "conv") === "conv") t.layer(conv(out, out, 3), 2 * out * h2 * w2);
    else resnet(t, out, out, r, h2 * w2);
  });
  t.layer(2 * ch[0]! + conv(ch[0]!, c.out_channels, 3), (2 * ch[0]! + c.out_channels) * h * w);
  return t;
}

/** The VAE's mid block: resnet, (attention, resnet). */
function vaeMid(t: Tally, c: number, withAttention: boolean, hw: number): void {
  const r: ResnetOptions = { temb: null, scaleShift: false };
  resnet(t, c, c, r, hw);
  if (withAttention) attention(t, c, c, true, hw);
  resnet(t, c, c, r, hw);
}

/** AutoencoderKL (autoencoder-kl.ts, vae.ts): encoder + decoder (+ quant convs). */
function autoencoderKL(c: AutoencoderKLConfig): Tally {
  const t = new Tally();
  const r: ResnetOptions = { temb: null, scaleShift: false };
  const ch = c.block_out_channels;
  const n = ch.length;
  const l = c.latent_channels;
  const s = c.sample_size;
  let [h, w] = typeof s === "number" ? [s, s] : [s[0]!, s[1] ?? s[0]!];
  t.layer(conv(c.in_channels, ch[0]!, 3), ch[0]! * h * w);
  ch.forEach((out, i) => {
    const attn = c.down_block_types[i] === "AttnDownEncoderBlock2D";
    for (let j = 0; j < c.layers_per_block; j++) {
      resnet(t, j === 0 ? (i === 0 ? ch[0]! : ch[i - 1]!) : out, out, r, h * w);
      if (attn) attention(t, out, out, true, h * w);
    }
    if (i === n - 1) return;
    [h, w] = [halve(h), halve(w)];
    t.layer(conv(out, out, 3), out * h * w);
  });
  const last = ch[n - 1]!;
  vaeMid(t, last, c.mid_block_add_attention, h * w);
  t.layer(2 * last + conv(last, 2 * l, 3), (2 * last + 2 * l) * h * w);
  if (c.use_quant_conv) t.layer(conv(2 * l, 2 * l, 1), 2 * l * h * w);
  if (c.use_post_quant_conv) t.layer(conv(l, l, 1), l * h * w);
  t.layer(conv(l, last, 3), last * h * w);
  vaeMid(t, last, c.mid_block_add_attention, h * w);
  const rev = [...ch].reverse();
  rev.forEach((out, i) => {
    const attn = c.up_block_types[i] === "AttnUpDecoderBlock2D";
    for (let j = 0; j <= c.layers_per_block; j++) {
      resnet(t, j === 0 ? (i === 0 ? rev[0]! : rev[i - 1]!) : out, out, r, h * w);
      if (attn) attention(t, out, out, true, h * w);
    }
    if (i === n - 1) return;
    [h, w] = [2 * h, 2 * w];
    t.layer(conv(out, out, 3), 2 * out * h * w);
  });
  t.layer(2 * ch[0]! + conv(ch[0]!, c.out_channels, 3), (2 * ch[0]! + c.out_channels) * h * w);
  return t;
}

/** MLPDenoiser (mlp-denoiser.ts). */
function mlpDenoiser(c: MLPDenoiserConfig): Tally {
  const t = new Tally();
  const H = c.hidden_size;
  t.layer(2 * linear(H, H), 3 * H);
  if (c.num_class_embeds !== null) t.layer(c.num_class_embeds * H, H);
  t.layer(linear(c.in_features, H), H);
  for (let i = 0; i < c.num_layers; i++) {
    t.layer(3 * linear(H, H), 6 * H);
    t.layers += 3;
  }
  t.layer(linear(H, c.in_features), H + c.in_features);
  return t;
}

/**
 * TutorialUNet (tutorial-unet.ts): the seed tutorial's ImprovedUNet. Its residual block adds the time
 * MLP after conv1 and a 1x1 residual conv when the channels change; its attention block is a 1x1 qkv
 * conv and a 1x1 output conv over all channels; 4x4 stride-2 convs down, transposed convs up.
 */
function tutorialUNet(c: TutorialUNetConfig): Tally {
  const t = new Tally();
  const base = c.base_channels;
  const ch = [base, ...c.channel_multipliers.map((m) => base * m)];
  const L = c.channel_multipliers.length;
  const temb = 4 * base;
  const s = c.sample_size ?? 0;
  let [h, w] = typeof s === "number" ? [s, s] : [s[0]!, s[1] ?? s[0]!];
  const res = (cin: number, cout: number, hw: number) => {
    let p = 2 * cin + conv(cin, cout, 3) + linear(temb, cout) + 2 * cout + conv(cout, cout, 3);
    if (cin !== cout) p += conv(cin, cout, 1);
    t.layer(p, (2 * cin + 5 * cout) * hw, (cin + 3 * cout) * hw);
    t.layers += 6;
  };
  const attn = (ch: number, hw: number) => {
    const scores = 2 * c.num_heads * hw * hw;
    t.layer(2 * ch + conv(ch, 3 * ch, 1) + conv(ch, ch, 1), 6 * ch * hw + scores, 6 * ch * hw + scores);
    t.layers += 3;
  };
  t.layer(linear(base, temb) + linear(temb, temb), 2 * temb);
  t.layer(conv(c.image_channels, base, 3), base * h * w);
  t.skips += base * h * w;
  const sizes: [number, number][] = [];
  for (let i = 0; i < L; i++) {
    sizes.push([h, w]);
    for (let j = 0; j < c.num_res_blocks; j++) res(j === 0 ? ch[i]! : ch[i + 1]!, ch[i + 1]!, h * w);
    if (c.use_attention[i]) attn(ch[i + 1]!, h * w);
    t.skips += ch[i + 1]! * h * w;
    if (i === L - 1) continue;
    [h, w] = [Math.floor(h / 2), Math.floor(w / 2)];
    t.layer(conv(ch[i + 1]!, ch[i + 1]!, 4), ch[i + 1]! * h * w);
  }
  res(ch[L]!, ch[L]!, h * w);
  attn(ch[L]!, h * w);
  res(ch[L]!, ch[L]!, h * w);
  for (let k = 0; k < L; k++) {
    const i = L - 1 - k;
    const [inCh, outCh] = [ch[i + 1]!, ch[i]!];
    [h, w] = sizes[i]!;
    if (i < L - 1) t.layer(conv(inCh, inCh, 4), inCh * h * w);
    for (let j = 0; j <= c.num_res_blocks; j++) res(j === 0 ? 2 * inCh : outCh, outCh, h * w);
    if (c.use_attention[i]) attn(outCh, h * w);
  }
  t.layer(2 * base + conv(base, c.image_channels, 3), (2 * base + c.image_channels) * h * w);
  return t;
}

function finish(className: ModelEstimate["className"], t: Tally): ModelEstimate {
  return {
    className,
    parameters: t.parameters,
    layers: t.layers,
    inferenceActivations: t.skips + t.peakWork,
    trainingActivations: t.stored,
  };
}

/** Refuses a structure past MAX_LAYERS before walking it (a walk is O(layers)). */
function guardLayers(className: string, layers: number, fields: string): void {
  if (layers > MAX_LAYERS) {
    throw new ResourceError(
      `${className} config describes about ${fmtCount(layers)} layers; the limit is ${fmtCount(MAX_LAYERS)} (see ${fields})`,
    );
  }
}

/** Estimates a UNet2DModel config.json object (validated first: a ConfigError for a bad field). */
export function estimateUNet2D(raw: unknown): ModelEstimate {
  const c = parseUNet2DConfig(raw, QUIET);
  guardLayers("UNet2DModel", 14 * c.block_out_channels.length * (c.layers_per_block + 1), LAYER_FIELDS);
  return finish("UNet2DModel", unet2d(c));
}

/** Estimates an AutoencoderKL config.json object. */
export function estimateAutoencoderKL(raw: unknown): ModelEstimate {
  const c = parseAutoencoderKLConfig(raw);
  guardLayers("AutoencoderKL", 14 * c.block_out_channels.length * (c.layers_per_block + 1), LAYER_FIELDS);
  return finish("AutoencoderKL", autoencoderKL(c));
}

/** Estimates an MLPDenoiser config.json object. */
export function estimateMLPDenoiser(raw: unknown): ModelEstimate {
  const c = parseMLPDenoiserConfig(raw, QUIET);
  guardLayers("MLPDenoiser", 4 * c.num_layers, "num_layers");
  return finish("MLPDenoiser", mlpDenoiser(c));
}

/** Estimates a TutorialUNet config.json object. */
export function estimateTutorialUNet(raw: unknown): ModelEstimate {
  const c = parseTutorialUNetConfig(raw, QUIET);
  guardLayers(
    TUTORIAL_UNET_CLASS,
    14 * c.channel_multipliers.length * (c.num_res_blocks + 1),
    "num_res_blocks and channel_multipliers",
  );
  return finish(TUTORIAL_UNET_CLASS, tutorialUNet(c));
}

/** Estimating parses the config again: its unknown keys were (or will be) reported by the loader. */
const QUIET: ParseOptions = { unknown: "ignore" };

const LAYER_FIELDS = "layers_per_block and block_out_channels";

const ESTIMATORS: Record<ModelEstimate["className"], (raw: unknown) => ModelEstimate> = {
  UNet2DModel: estimateUNet2D,
  AutoencoderKL: estimateAutoencoderKL,
  [TUTORIAL_UNET_CLASS]: estimateTutorialUNet,
  MLPDenoiser: estimateMLPDenoiser,
};

/**
 * Estimates a config.json object of any model class, chosen by `_class_name` (absent: UNet2DModel).
 * Costs O(layers) time and O(1) memory; refuses (ResourceError) more than MAX_LAYERS layers first.
 */
export function estimateModel(config: unknown): ModelEstimate {
  const name = (config as { _class_name?: unknown } | null)?._class_name ?? "UNet2DModel";
  if (typeof name !== "string" || !Object.hasOwn(ESTIMATORS, name)) {
    throw new ConfigError(
      `model config: field "_class_name" is ${JSON.stringify(name)}; expected one of ${Object.keys(ESTIMATORS).join(", ")}`,
    );
  }
  return ESTIMATORS[name as ModelEstimate["className"]](config);
}

export type Workload = "inference" | "training";

/**
 * Bytes to run the model on `batch` examples at once. Inference: the float32 parameters + the peak
 * activations. Training: parameters, gradients, two AdamW moments and the EMA copy (5 x), plus the
 * stored activations and their gradients (2 x).
 */
export function memoryNeeded(e: ModelEstimate, batch: number, workload: Workload): number {
  if (workload === "inference") return 4 * e.parameters + 4 * batch * e.inferenceActivations;
  return 4 * 5 * e.parameters + 4 * 2 * batch * e.trainingActivations;
}

export function fmtBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "more than 1e308 bytes";
  const units = ["bytes", "KB", "MB", "GB", "TB", "PB"];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0
    ? `${v} bytes`
    : u === units.length - 1 && v >= 1000
      ? `${bytes.toPrecision(3)} bytes`
      : `${v.toPrecision(3)} ${units[u]}`;
}

function fmtCount(n: number): string {
  return n < 1e6 ? String(Math.round(n)) : n.toPrecision(3);
}

export interface MemoryCheck {
  /** Examples per forward pass (sampling: the number of samples, doubled with guidance). */
  batch: number;
  workload: Workload;
  /** The budget in bytes (Node: `defaultMemoryLimit()` or --max-memory). */
  limitBytes: number;
  /** What is being checked, for the message (e.g. the config file's path); omitted: no prefix. */
  source?: string;
  /** How the user raises the limit (e.g. "--max-memory"), for the message. */
  hint?: string;
}

/**
 * Refuses (ResourceError) a model + batch whose estimated memory exceeds the limit; the message holds
 * the estimate, its parts and the limit. Returns the estimate in bytes otherwise.
 */
export function checkMemory(e: ModelEstimate, o: MemoryCheck): number {
  const need = memoryNeeded(e, o.batch, o.workload);
  if (need <= o.limitBytes) return need;
  const paramBytes = 4 * e.parameters * (o.workload === "training" ? 5 : 1);
  const actBytes = need - paramBytes;
  const batch = o.batch === 1 ? "one example" : `a batch of ${fmtCount(o.batch)}`;
  throw new ResourceError(
    `${o.source ? `${o.source}: ` : ""}${o.workload} of this ${e.className} needs about ${fmtBytes(need)} ` +
      `(${fmtCount(e.parameters)} parameters: ${fmtBytes(paramBytes)}; activations for ${batch}: ${fmtBytes(actBytes)}), ` +
      `above the memory limit of ${fmtBytes(o.limitBytes)}` +
      (o.hint ? `; ${o.hint}` : ""),
  );
}
