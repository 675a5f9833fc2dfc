/**
 * Fuzz targets: every parser that reads user files, each with a generator of inputs (mutations of
 * valid files: byte flips, truncation, insertions, header edits; and structured generators: JSON with
 * wrong types and huge numbers, PNG chunks with valid CRCs, safetensors headers). The property: each
 * input either parses or throws the project's named error (`InputError`, naming the file for
 * file-level readers); never a RangeError/TypeError, a hang or a crash.
 *
 * Used by test/fuzz/parsers.test.ts (a few thousand cases in CI) and scripts/fuzz.ts (`npm run fuzz
 * -- --runs N`, nightly-style).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { deflateSync } from "node:zlib";
import fc from "fast-check";
import { encode as encodeJpeg } from "jpeg-js";
import { csvTable } from "../../src/data/csv.js";
import { decodeImageBytes } from "../../src/data/folder.js";
import { parseIdx } from "../../src/data/idx.js";
import { createScheduler, SCHEDULER_NAMES } from "../../src/diffusion/registry.js";
import { InputError } from "../../src/io/input-error.js";
import { decodeJpeg } from "../../src/io/jpeg.js";
import { crc32, decodePng, encodePng } from "../../src/io/png.js";
import { parseSafetensors, type StTensor, serializeSafetensors } from "../../src/io/safetensors.js";
import { AutoencoderKL } from "../../src/models/autoencoder-kl.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { checkMemory, estimateModel } from "../../src/models/estimate.js";
import { loadModelFolder, saveModelFolder } from "../../src/pipelines/model-folder-node.js";
import { createSchedulerByName, SAMPLER_NAMES } from "../../src/pipelines/scheduler-names.js";
import { checkpointPath, loadCheckpoint, saveCheckpoint } from "../../src/train/checkpoint-node.js";
import { initialState } from "../../src/train/trainer.js";

/** A parser under test: inputs from `input`, `run` parses one (sync or async). */
export interface FuzzTarget<I = unknown> {
  name: string;
  input: fc.Arbitrary<I>;
  run: (input: I) => unknown;
  /** For file-level readers: the path an InputError must name. */
  file?: (input: I) => string;
}

/** What a target threw, judged: null when acceptable (no error, or the named error). */
export function judge(target: FuzzTarget, input: unknown, error: unknown): string | null {
  if (error === undefined) return null;
  if (!(error instanceof InputError)) {
    const e = error as Error;
    return `${e?.name ?? typeof error}: ${e?.message ?? String(error)}`;
  }
  const file = target.file?.(input);
  if (file !== undefined && !error.message.includes(file)) {
    return `${error.name} does not name the file ${file}: ${error.message}`;
  }
  if (error.message.length === 0) return `${error.name} with an empty message`;
  return null;
}

/** Runs one case; returns null (fine) or a description of the crash. */
export async function runCase(target: FuzzTarget, input: unknown): Promise<string | null> {
  let error: unknown;
  try {
    await target.run(input);
  } catch (e) {
    error = e;
  }
  return judge(target, input, error);
}

// ---------------------------------------------------------------------------------------------------
// Byte mutations

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: number[] }
  | { kind: "delete"; at: number; length: number }
  | { kind: "duplicate"; at: number; length: number };

const position = fc.nat({ max: 1 << 20 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({
    kind: fc.constant("set" as const),
    at: position,
    value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x20, 0x22, 0x7b, 0x7d, 0x2c, 0x3a, 0x30, 0x39),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: position }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: position,
    bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant("delete" as const), at: position, length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({
    kind: fc.constant("duplicate" as const),
    at: position,
    length: fc.integer({ min: 1, max: 64 }),
  }),
);

export function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b: Uint8Array = Uint8Array.from(bytes);
  for (const m of mutations) {
    const n = b.length;
    const at = n === 0 ? 0 : m.at % (n + (m.kind === "insert" || m.kind === "truncate" ? 1 : 0));
    if (m.kind === "flip" && n > 0) b[at] = b[at]! ^ (1 << m.bit);
    else if (m.kind === "set" && n > 0) b[at] = m.value;
    else if (m.kind === "truncate") b = b.slice(0, at);
    else if (m.kind === "insert") b = concat(b.subarray(0, at), Uint8Array.from(m.bytes), b.subarray(at));
    else if (m.kind === "delete") b = concat(b.subarray(0, at), b.subarray(at + m.length));
    else if (m.kind === "duplicate") {
      const piece = b.slice(at, at + m.length);
      b = concat(b.subarray(0, at), piece, b.subarray(at));
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Mutations (1-4) of one of `seeds`. */
function mutated(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([i, ms]) => mutate(seeds[i]!, ms));
}

// ---------------------------------------------------------------------------------------------------
// JSON values with wrong types and extreme numbers

/** Values that break naive parsers: wrong types, huge / tiny / fractional / negative numbers. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    1,
    2,
    1.5,
    -0.5,
    1e9,
    1e15,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    2 ** 53 + 2,
    1e308,
    -1e308,
    5e-324,
    "",
    "x",
    "1",
    "__proto__",
    [],
    {},
    [1e9],
    [0],
    [-1],
    [1, 2, 3],
    [null],
    ["x"],
    { a: 1 },
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 8 }),
  fc.array(fc.integer({ min: -2, max: 1e6 }), { maxLength: 4 }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** `base` with some fields replaced by weird values, some removed, some added. */
function editedObject(base: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(base);
  const edit = fc.oneof(
    fc.record({ key: fc.constantFrom(...keys), value: weirdValue, remove: fc.constant(false) }),
    fc.record({ key: fc.constantFrom(...keys), value: fc.constant(undefined), remove: fc.constant(true) }),
    fc.record({ key: fc.string({ maxLength: 6 }), value: weirdValue, remove: fc.constant(false) }),
  );
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => apply(base, edits)),
    },
    { weight: 1, arbitrary: weirdValue },
  );
}

function apply(base: Record<string, unknown>, edits: { key: string; value: unknown; remove: boolean }[]) {
  const out = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  for (const e of edits) {
    if (e.remove) delete out[e.key];
    else
      Object.defineProperty(out, e.key, {
        value: e.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  // What a file would hold: a JSON round trip (drops undefined, keeps "__proto__" as an own key).
  return JSON.parse(JSON.stringify(out));
}

// ---------------------------------------------------------------------------------------------------
// Seeds

const TINY_UNET = {
  _class_name: "UNet2DModel",
  sample_size: 8,
  in_channels: 1,
  out_channels: 1,
  block_out_channels: [8, 8],
  down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "UpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 4,
  attention_head_dim: 4,
  num_class_embeds: 3,
};
const TINY_VAE = {
  _class_name: "AutoencoderKL",
  block_out_channels: [8, 8],
  down_block_types: ["DownEncoderBlock2D", "AttnDownEncoderBlock2D"],
  up_block_types: ["AttnUpDecoderBlock2D", "UpDecoderBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 4,
  latent_channels: 2,
  sample_size: 8,
};
const TINY_MLP = {
  _class_name: "MLPDenoiser",
  in_features: 2,
  hidden_size: 8,
  num_layers: 2,
  num_class_embeds: 4,
};
const SCHEDULER = {
  _class_name: "DDPMScheduler",
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "squaredcos_cap_v2",
  prediction_type: "epsilon",
  clip_sample: true,
  timestep_spacing: "leading",
  steps_offset: 0,
  rescale_betas_zero_snr: false,
};
const MODEL_INDEX = {
  _class_name: "DDPMPipeline",
  _diffusers_version: "0.30.3",
  _diffuse: { numClasses: 3, nullClass: 3, dataKind: "points", dataset: "moons" },
  scheduler: ["diffusers", "DDPMScheduler"],
  unet: ["diffuse", "MLPDenoiser"],
};

function safetensorsSeeds(): Uint8Array[] {
  const f32 = (shape: number[]): StTensor => ({
    dtype: "F32",
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i / 7),
  });
  return [
    serializeSafetensors({ w: f32([2, 3]), b: f32([3]) }, { format: "pt" }),
    serializeSafetensors({
      a: { dtype: "I64", shape: [2], data: BigInt64Array.from([1n, -2n]) },
      h: { dtype: "BF16", shape: [1, 2], data: Uint16Array.from([0x3f80, 0xc000]) },
      u: { dtype: "U8", shape: [3], data: Uint8Array.from([1, 2, 3]) },
      s: f32([]),
      z: f32([0, 4]),
    }),
  ];
}

function pngSeeds(): Uint8Array[] {
  const image = (w: number, h: number, c: 1 | 2 | 3 | 4) => ({
    width: w,
    height: h,
    channels: c,
    data: Uint8Array.from({ length: w * h * c }, (_, i) => (i * 37) & 0xff),
  });
  return [
    encodePng(image(3, 2, 1)),
    encodePng(image(4, 4, 3)),
    encodePng(image(5, 3, 4)),
    encodePng(image(2, 2, 2)),
  ];
}

function jpegSeeds(): Uint8Array[] {
  const rgba = (w: number, h: number) => Uint8Array.from({ length: w * h * 4 }, (_, i) => (i * 53) & 0xff);
  return [
    Uint8Array.from(encodeJpeg({ width: 8, height: 8, data: rgba(8, 8) }, 90).data),
    Uint8Array.from(encodeJpeg({ width: 17, height: 9, data: rgba(17, 9) }, 50).data),
  ];
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

const PNG_COMBOS: [number, number][] = [
  [0, 1],
  [0, 2],
  [0, 4],
  [0, 8],
  [0, 16],
  [2, 8],
  [2, 16],
  [3, 1],
  [3, 2],
  [3, 4],
  [3, 8],
  [4, 8],
  [4, 16],
  [6, 8],
  [6, 16],
];
const PNG_SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * PNGs assembled from chunks with valid CRCs (so the decoder gets past the CRC check): mostly legal
 * colour type / bit depth pairs with rows of the right length (random filter bytes and samples),
 * sometimes illegal header fields, huge sizes, wrong row lengths, palettes and tRNS of any size.
 */
const structuredPng: fc.Arbitrary<Uint8Array> = fc
  .record({
    width: fc.oneof(
      { weight: 9, arbitrary: fc.integer({ min: 1, max: 9 }) },
      { weight: 1, arbitrary: fc.constantFrom(0, 2 ** 31 - 1, 2 ** 32 - 1, 70000) },
    ),
    height: fc.oneof(
      { weight: 9, arbitrary: fc.integer({ min: 1, max: 6 }) },
      { weight: 1, arbitrary: fc.constantFrom(0, 2 ** 31 - 1, 70000) },
    ),
    combo: fc.oneof(
      { weight: 9, arbitrary: fc.constantFrom(...PNG_COMBOS) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(1, 5, 7, 255), fc.constantFrom(0, 3, 8, 32)) },
    ),
    interlace: fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
    palette: fc.option(
      fc
        .tuple(fc.array(fc.nat({ max: 255 }), { minLength: 3, maxLength: 60 }), fc.boolean())
        .map(([p, whole]) => (whole ? p.slice(0, p.length - (p.length % 3)) : p)),
      { freq: 3 },
    ),
    trns: fc.option(fc.array(fc.nat({ max: 255 }), { maxLength: 12 }), { freq: 2 }),
    samples: fc.array(fc.nat({ max: 255 }), { minLength: 400, maxLength: 400 }),
    rowDelta: fc.oneof(
      { weight: 8, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: -20, max: 20 }) },
    ),
    raw: fc.constantFrom(false, false, false, true),
    split: fc.boolean(),
  })
  .map((r) => {
    const [colour, depth] = r.combo;
    const ihdr = new Uint8Array(13);
    const v = new DataView(ihdr.buffer);
    v.setUint32(0, r.width);
    v.setUint32(4, r.height);
    ihdr.set([depth, colour, 0, 0, r.interlace], 8);
    const stride = Math.ceil((Math.min(r.width, 64) * (PNG_SAMPLES[colour] ?? 1) * depth) / 8);
    const length = Math.max(0, Math.min(r.height, 64) * (stride + 1) + r.rowDelta);
    // Filter bytes are mostly legal (0-4); the samples come from `samples`, cycled.
    const rows = Uint8Array.from({ length }, (_, i) =>
      i % (stride + 1) === 0 ? r.samples[i % 400]! % 6 : r.samples[i % 400]!,
    );
    const idat = r.raw ? rows : new Uint8Array(deflateSync(rows));
    const parts = [Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr)];
    if (r.palette) parts.push(chunk("PLTE", Uint8Array.from(r.palette)));
    if (r.trns) parts.push(chunk("tRNS", Uint8Array.from(r.trns)));
    if (r.split && idat.length > 2) {
      parts.push(
        chunk("IDAT", idat.subarray(0, idat.length >> 1)),
        chunk("IDAT", idat.subarray(idat.length >> 1)),
      );
    } else parts.push(chunk("IDAT", idat));
    parts.push(chunk("IEND", new Uint8Array(0)));
    return concat(...parts);
  });

const ST_DTYPES = ["F32", "F16", "BF16", "F64", "I64", "I32", "I8", "U8", "BOOL"] as const;
const ST_ITEMSIZE: Record<string, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/**
 * Safetensors files with consistent headers (valid dtypes, shapes, tiling offsets, the exact data
 * length) and then a few edits: a field of one tensor replaced by a weird value, offsets shifted,
 * the data cut or extended, the declared header length changed, odd metadata.
 */
const structuredSafetensors: fc.Arbitrary<Uint8Array> = fc
  .record({
    tensors: fc.array(
      fc.record({
        name: fc.string({ minLength: 1, maxLength: 5 }),
        dtype: fc.constantFrom(...ST_DTYPES),
        shape: fc.array(fc.nat({ max: 3 }), { maxLength: 3 }),
      }),
      { maxLength: 4 },
    ),
    edits: fc.array(
      fc.record({
        tensor: fc.nat(),
        field: fc.constantFrom("dtype", "shape", "data_offsets", "whole"),
        value: weirdValue,
      }),
      { maxLength: 2 },
    ),
    metadata: fc.option(
      fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 })), weirdValue),
      {
        freq: 2,
      },
    ),
    dataDelta: fc.oneof(
      { weight: 6, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }) },
    ),
    declared: fc.oneof(
      { weight: 5, arbitrary: fc.constant(null) },
      {
        weight: 1,
        arbitrary: fc.oneof(fc.nat({ max: 400 }), fc.constantFrom(2 ** 32, 2 ** 53, 1e8, 1e8 + 1)),
      },
    ),
    pad: fc.nat({ max: 7 }),
    fill: fc.nat({ max: 255 }),
  })
  .map((r) => {
    const header: Record<string, unknown> = {};
    if (r.metadata !== null) header.__metadata__ = r.metadata;
    let offset = 0;
    const names: string[] = [];
    for (const t of r.tensors) {
      const bytes = t.shape.reduce((a, b) => a * b, 1) * ST_ITEMSIZE[t.dtype]!;
      header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
      names.push(t.name);
      offset += bytes;
    }
    for (const e of r.edits) {
      if (names.length === 0) break;
      const name = names[e.tensor % names.length]!;
      if (e.field === "whole") header[name] = e.value;
      else if (typeof header[name] === "object" && header[name] !== null) {
        (header[name] as Record<string, unknown>)[e.field] = e.value;
      }
    }
    const json = new TextEncoder().encode(JSON.stringify(header) + " ".repeat(r.pad));
    const head = new Uint8Array(8);
    new DataView(head.buffer).setBigUint64(0, BigInt(r.declared ?? json.length), true);
    const data = new Uint8Array(Math.max(0, offset + r.dataDelta)).fill(r.fill);
    return concat(head, json, data);
  });

// ---------------------------------------------------------------------------------------------------
// CSV text

const csvNumber = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
);
const csvOdd = fc.constantFrom(
  "1",
  "-2.5",
  "0",
  "",
  " 3 ",
  "x",
  "1e999",
  "-1e999",
  "NaN",
  "Infinity",
  "0x10",
  "1e308",
  '"a,b"',
  '"q""q"',
  '"',
  '"open',
  "99999999999",
  "4294967296",
  "2147483647",
  "cat",
);
const csvField = fc.oneof({ weight: 6, arbitrary: csvNumber }, { weight: 1, arbitrary: csvOdd });
const csvText: fc.Arbitrary<{ text: string; label?: string }> = fc
  .record({
    header: fc.array(fc.constantFrom("x", "y", "label", "", '"z"', "x", "w"), { minLength: 1, maxLength: 4 }),
    rows: fc.array(fc.array(csvField, { minLength: 5, maxLength: 5 }), { minLength: 1, maxLength: 6 }),
    ragged: fc.array(fc.integer({ min: -2, max: 2 }), { minLength: 6, maxLength: 6 }),
    raggedRows: fc.constantFrom(false, false, false, false, false, true),
    eol: fc.constantFrom("\n", "\r\n", "\r"),
    label: fc.option(fc.constantFrom("label", "x", "missing"), { freq: 2 }),
    junk: fc.option(fc.string({ maxLength: 10 }), { freq: 4 }),
  })
  .map((r) => {
    const n = r.header.length;
    const rows = r.rows.map((f, i) => f.slice(0, Math.max(0, n + (r.raggedRows ? r.ragged[i]! : 0))));
    const text = [r.header, ...rows].map((f) => f.join(",")).join(r.eol) + (r.junk ?? "");
    return r.label === null ? { text } : { text, label: r.label };
  });

// ---------------------------------------------------------------------------------------------------
// Targets

const LIMIT = { batch: 1, workload: "inference" as const, limitBytes: 2e9 };

/** The model-config pipeline a config.json goes through: estimate, memory check, build. */
function buildModel(config: unknown): void {
  checkMemory(estimateModel(config), LIMIT);
  const name = (config as { _class_name?: unknown })._class_name;
  if (name === "AutoencoderKL") new AutoencoderKL(config).parameterSpecs();
  else denoiserFromConfig(config as Record<string, unknown>).module.parameterSpecs();
}

let scratch: string | undefined;
/** A fresh directory under one temporary root per process. */
function tempDir(name: string): string {
  scratch ??= mkdtempSync(path.join(tmpdir(), "diffuse-fuzz-"));
  const dir = mkdtempSync(path.join(scratch, `${name}-`));
  return dir;
}

/** The temporary root (remove it when done). */
export function scratchRoot(): string | undefined {
  return scratch;
}

export async function makeTargets(): Promise<FuzzTarget[]> {
  const st = safetensorsSeeds();
  const png = pngSeeds();
  const jpeg = jpegSeeds();
  const idx = [Uint8Array.from([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6])];

  // A model folder and a checkpoint of a tiny MLP, written once; each case rewrites one file.
  const mlp = denoiserFromConfig(TINY_MLP);
  const params = mlp.module.parameters();
  const folderBase = tempDir("folder");
  await saveModelFolder(folderBase, mlp, params, SCHEDULER, MODEL_INDEX._diffuse as never);
  const { readFileSync } = await import("node:fs");
  const weights = readFileSync(path.join(folderBase, "unet", "diffusion_pytorch_model.safetensors"));
  const ckptBase = tempDir("ckpt");
  await saveCheckpoint(ckptBase, initialState(params, 1), {
    config: { dataset: "moons", steps: 10 } as never,
    model: mlp.toConfig(),
    elapsed: 1,
  });
  const ckptBytes = readFileSync(checkpointPath(ckptBase));
  const names = mlp.module.parameterSpecs().map((s) => s.name);
  const meta = JSON.parse(
    (parseSafetensors(ckptBytes).metadata as Record<string, string>).diffuse_checkpoint!,
  ) as Record<string, unknown>;

  const folderInput = fc.record({
    index: fc.option(editedObject(MODEL_INDEX), { freq: 2 }),
    unet: fc.option(editedObject(TINY_MLP), { freq: 2 }),
    scheduler: fc.option(editedObject(SCHEDULER), { freq: 2 }),
    weights: fc.option(mutated([weights]), { freq: 3 }),
    sampler: fc.constantFrom(...SAMPLER_NAMES),
  });

  const ckptInput = fc.oneof(
    mutated([ckptBytes]),
    editedObject(meta).map((m) => {
      const tensors = parseSafetensors(ckptBytes).tensors;
      return serializeSafetensors(tensors, { diffuse_checkpoint: JSON.stringify(m) });
    }),
  );

  return [
    {
      name: "safetensors",
      input: fc.oneof(mutated(st), structuredSafetensors),
      run: (b: Uint8Array) => parseSafetensors(b),
    },
    {
      name: "png",
      input: fc.oneof(
        mutated(png),
        structuredPng,
        structuredPng.chain((p) => mutated([p])),
      ),
      run: (b: Uint8Array) => decodePng(b),
    },
    { name: "jpeg", input: mutated(jpeg), run: (b: Uint8Array) => decodeJpeg(b) },
    {
      name: "image file",
      input: fc.oneof(mutated(png), mutated(jpeg), fc.uint8Array({ maxLength: 16 })),
      run: (b: Uint8Array) => decodeImageBytes(b, "/data/img/cat.png"),
      file: () => "/data/img/cat.png",
    },
    {
      name: "csv",
      input: csvText,
      run: (c: { text: string; label?: string }) =>
        csvTable(c.text, "t.csv", c.label ? { label: c.label } : {}),
      file: () => "t.csv",
    },
    {
      name: "idx",
      input: mutated(idx),
      run: (b: Uint8Array) => parseIdx(b, "x.idx", 10),
      file: () => "x.idx",
    },
    {
      name: "config.json",
      input: fc.oneof(editedObject(TINY_UNET), editedObject(TINY_VAE), editedObject(TINY_MLP)),
      run: buildModel,
    },
    {
      name: "scheduler config",
      input: fc.tuple(
        fc.constantFrom(...SCHEDULER_NAMES),
        editedObject(SCHEDULER),
        fc.integer({ min: 1, max: 30 }),
      ),
      run: ([name, config, steps]: [string, unknown, number]) => {
        createScheduler(name, config as Record<string, unknown>).setTimesteps(steps);
      },
    },
    {
      name: "model folder (model_index.json, config.json, scheduler, weights)",
      input: folderInput,
      run: async (r: typeof folderInput extends fc.Arbitrary<infer T> ? T : never) => {
        const dir = tempDir("m");
        mkdirSync(path.join(dir, "unet"));
        mkdirSync(path.join(dir, "scheduler"));
        writeFileSync(path.join(dir, "model_index.json"), JSON.stringify(r.index ?? MODEL_INDEX));
        writeFileSync(path.join(dir, "unet", "config.json"), JSON.stringify(r.unet ?? TINY_MLP));
        writeFileSync(path.join(dir, "unet", "diffusion_pytorch_model.safetensors"), r.weights ?? weights);
        writeFileSync(
          path.join(dir, "scheduler", "scheduler_config.json"),
          JSON.stringify(r.scheduler ?? SCHEDULER),
        );
        const m = await loadModelFolder(dir, { maxMemory: 2e9 });
        createSchedulerByName(r.sampler, { ...m.schedulerConfig }).setTimesteps(5);
      },
    },
    {
      name: "checkpoint",
      input: ckptInput,
      run: async (bytes: Uint8Array) => {
        const dir = tempDir("c");
        writeFileSync(checkpointPath(dir), bytes);
        await loadCheckpoint(dir, names);
      },
      file: () => "checkpoint.safetensors",
    },
  ] as FuzzTarget[];
}
