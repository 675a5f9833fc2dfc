/**
 * Input generators for the fuzz targets (./targets.ts): byte mutations of valid files, JSON values with
 * wrong types and extreme numbers, and structured generators (PNG chunks with valid CRCs, consistent
 * safetensors headers with edits, CSV tables).
 */
import { deflateSync } from "node:zlib";
import fc from "fast-check";
import { pngChunk } from "../../src/io/png-encode.js";

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

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Mutations (1-4) of one of `seeds`. */
export function mutated(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
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
export function editedObject(base: Record<string, unknown>): fc.Arbitrary<unknown> {
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
export const structuredPng: fc.Arbitrary<Uint8Array> = fc
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
    const parts = [Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]), pngChunk("IHDR", ihdr)];
    if (r.palette) parts.push(pngChunk("PLTE", Uint8Array.from(r.palette)));
    if (r.trns) parts.push(pngChunk("tRNS", Uint8Array.from(r.trns)));
    if (r.split && idat.length > 2) {
      parts.push(
        pngChunk("IDAT", idat.subarray(0, idat.length >> 1)),
        pngChunk("IDAT", idat.subarray(idat.length >> 1)),
      );
    } else parts.push(pngChunk("IDAT", idat));
    parts.push(pngChunk("IEND", new Uint8Array(0)));
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
export const structuredSafetensors: fc.Arbitrary<Uint8Array> = fc
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
export const csvText: fc.Arbitrary<{ text: string; label?: string }> = fc
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
