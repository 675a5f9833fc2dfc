/**
 * The safetensors file format (https://github.com/huggingface/safetensors), read and written by our
 * own code on plain `Uint8Array`s, so the same module runs in Node and in the browser.
 *
 * Layout: `[u64 LE: N][N bytes: UTF-8 JSON header, space-padded][data section]`. The header maps each
 * tensor name to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the data section,
 * little-endian, C order) plus an optional `__metadata__` string->string map.
 *
 * The reader validates everything the reference implementation (`SafeTensors::read_metadata` and
 * `Metadata::validate` in safetensors/src/tensor.rs) validates, and reports each problem with the tensor
 * name, the field, the value and what was expected. The writer reproduces the reference `serialize`
 * byte for byte: tensors sorted by descending dtype (the order of the Rust `Dtype` enum) then by name,
 * compact JSON, header padded with spaces to a multiple of 8.
 */

import { InputError } from "./input-error.js";

/** The safetensors dtypes this module reads and writes. */
export type StDType = "F32" | "F16" | "BF16" | "F64" | "I32" | "I64" | "I8" | "U8" | "BOOL";

/**
 * The typed array holding each dtype's elements. F16 and BF16 keep their raw 16-bit patterns (convert
 * with `tensorToFloat32` in safetensors_convert.ts); BOOL is one byte per element.
 */
export interface StArrayFor {
  F32: Float32Array;
  F64: Float64Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I32: Int32Array;
  I64: BigInt64Array;
  I8: Int8Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
}

/** One tensor: narrowing on `dtype` narrows `data` to the matching typed array. */
export type StTensor = { [D in StDType]: { dtype: D; shape: number[]; data: StArrayFor[D] } }[StDType];

/** What `parseSafetensors` returns: tensors in data-section order, and the `__metadata__` map ({} if absent). */
export interface ParsedSafetensors {
  tensors: Map<string, StTensor>;
  metadata: Record<string, string>;
}

/** Tensors to write, by name. */
export type StTensors = Map<string, StTensor> | Record<string, StTensor>;

/** Any malformed file or bad input to the writer. */
export class SafetensorsError extends InputError {
  override name = "SafetensorsError";
}

interface DTypeInfo {
  /** Bytes per element. */
  itemsize: number;
  /** Position in the reference's `Dtype` enum, which is in increasing alignment order. */
  rank: number;
  /** `Symbol.toStringTag` of the typed array holding the elements. */
  array: string;
  make: (n: number) => StArrayFor[StDType];
}

const DTYPES: Record<StDType, DTypeInfo> = {
  BOOL: { itemsize: 1, rank: 0, array: "Uint8Array", make: (n) => new Uint8Array(n) },
  U8: { itemsize: 1, rank: 1, array: "Uint8Array", make: (n) => new Uint8Array(n) },
  I8: { itemsize: 1, rank: 2, array: "Int8Array", make: (n) => new Int8Array(n) },
  F16: { itemsize: 2, rank: 3, array: "Uint16Array", make: (n) => new Uint16Array(n) },
  BF16: { itemsize: 2, rank: 4, array: "Uint16Array", make: (n) => new Uint16Array(n) },
  I32: { itemsize: 4, rank: 5, array: "Int32Array", make: (n) => new Int32Array(n) },
  F32: { itemsize: 4, rank: 6, array: "Float32Array", make: (n) => new Float32Array(n) },
  F64: { itemsize: 8, rank: 7, array: "Float64Array", make: (n) => new Float64Array(n) },
  I64: { itemsize: 8, rank: 8, array: "BigInt64Array", make: (n) => new BigInt64Array(n) },
};

const DTYPE_NAMES = Object.keys(DTYPES).join(", ");

/** The reference refuses headers above 100 MB (`MAX_HEADER_SIZE`). */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = "__metadata__";

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes per element of `dtype`. */
export function dtypeItemsize(dtype: StDType): number {
  return DTYPES[dtype].itemsize;
}

/** Whether `value` names a dtype this module supports. */
export function isStDType(value: unknown): value is StDType {
  return typeof value === "string" && Object.hasOwn(DTYPES, value);
}

function fail(message: string): never {
  throw new SafetensorsError(`safetensors: ${message}`);
}

/** A short printable form of a JSON value for error messages. */
function show(value: unknown): string {
  if (value === undefined) return "undefined";
  const text = typeof value === "bigint" ? `${value}` : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "an array" : `a ${typeof value}`;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Product of the dimensions; `undefined` if it exceeds 2^53. */
function elementCount(shape: number[]): number | undefined {
  let n = 1;
  for (const d of shape) n *= d;
  return Number.isSafeInteger(n) ? n : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Reading

interface Entry {
  name: string;
  dtype: StDType;
  shape: number[];
  begin: number;
  end: number;
}

/** Parses a whole safetensors file, copying every tensor into its own aligned typed array. */
export function parseSafetensors(bytes: Uint8Array): ParsedSafetensors {
  const { header, dataStart } = readHeader(bytes);
  const dataLength = bytes.length - dataStart;
  const metadata = readMetadata(header[METADATA_KEY]);
  const entries = Object.entries(header)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, raw]) => readEntry(name, raw, dataLength));
  checkCoverage(entries, dataLength);
  const tensors = new Map<string, StTensor>();
  for (const e of entries) {
    const data = copyElements(bytes.subarray(dataStart + e.begin, dataStart + e.end), e.dtype);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data } as StTensor);
  }
  return { tensors, metadata };
}

function readHeader(bytes: Uint8Array): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) {
    fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length that starts every file`);
  }
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes (file is ${bytes.length} bytes)`);
  }
  const headerLength = Number(n);
  if (8 + headerLength > bytes.length) {
    fail(
      `header length ${headerLength} exceeds the file (${bytes.length} bytes hold at most ${bytes.length - 8} header bytes)`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      bytes.subarray(8, 8 + headerLength),
    );
  } catch {
    fail(`header (${headerLength} bytes) is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message}); it starts ${show(text.slice(0, 40))}`);
  }
  if (!isObject(header)) fail(`header is ${kindOf(header)} ${show(header)}, expected a JSON object`);
  return { header, dataStart: 8 + headerLength };
}

function readMetadata(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) fail(`${METADATA_KEY} is ${kindOf(raw)} ${show(raw)}, expected an object of strings`);
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== "string") {
      fail(`${METADATA_KEY} key ${show(key)} has value ${show(value)} (${kindOf(value)}), expected a string`);
    }
  }
  return Object.fromEntries(Object.entries(raw)) as Record<string, string>;
}

function readEntry(name: string, raw: unknown, dataLength: number): Entry {
  const where = `tensor ${show(name)}`;
  if (!isObject(raw)) {
    fail(`${where} is ${kindOf(raw)} ${show(raw)}, expected an object {dtype, shape, data_offsets}`);
  }
  const dtype = readDType(where, raw.dtype);
  const shape = readCounts(where, "shape", raw.shape);
  const offsets = readCounts(where, "data_offsets", raw.data_offsets);
  if (offsets.length !== 2) fail(`${where} data_offsets ${show(offsets)} must have 2 entries [begin, end]`);
  const [begin, end] = offsets as [number, number];
  const at = `${where} data_offsets [${begin}, ${end}]`;
  if (end < begin) fail(`${at} end before begin`);
  if (end > dataLength) fail(`${at} exceed the data section (${dataLength} bytes)`);
  const count = elementCount(shape);
  const bytes = count === undefined ? undefined : count * DTYPES[dtype].itemsize;
  if (bytes === undefined || !Number.isSafeInteger(bytes)) fail(`${where} shape ${show(shape)} is too large`);
  if (end - begin !== bytes) {
    fail(`${at} span ${end - begin} bytes, but dtype ${dtype} and shape ${show(shape)} need ${bytes} bytes`);
  }
  return { name, dtype, shape, begin, end };
}

function readDType(where: string, raw: unknown): StDType {
  if (raw === undefined) fail(`${where} has no "dtype" (expected one of ${DTYPE_NAMES})`);
  if (!isStDType(raw)) fail(`${where} dtype ${show(raw)} is not supported (expected one of ${DTYPE_NAMES})`);
  return raw;
}

function readCounts(where: string, field: string, raw: unknown): number[] {
  if (raw === undefined) fail(`${where} has no "${field}" (expected an array of non-negative integers)`);
  if (!Array.isArray(raw)) {
    fail(`${where} ${field} is ${kindOf(raw)} ${show(raw)}, expected an array of non-negative integers`);
  }
  raw.forEach((v, i) => {
    if (!isCount(v)) {
      fail(`${where} ${field} ${show(raw)} has ${show(v)} at index ${i}, expected a non-negative integer`);
    }
  });
  return raw as number[];
}

/**
 * Sorted by offset, the tensors must tile the data section exactly: no overlap, no gap, nothing after
 * the last tensor (the reference's `validate` and `MetadataIncompleteBuffer`). Sorts `entries` in place.
 */
function checkCoverage(entries: Entry[], dataLength: number): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: Entry | undefined;
  for (const e of entries) {
    if (previous && e.begin < covered) {
      fail(
        `tensors ${show(previous.name)} data_offsets [${previous.begin}, ${previous.end}] and ` +
          `${show(e.name)} data_offsets [${e.begin}, ${e.end}] overlap`,
      );
    }
    if (e.begin > covered) {
      const before = previous ? `after tensor ${show(previous.name)}` : "at the start of the data section";
      fail(`data bytes [${covered}, ${e.begin}) ${before} belong to no tensor (next is ${show(e.name)})`);
    }
    covered = e.end;
    previous = e;
  }
  if (covered !== dataLength) {
    fail(`data section is ${dataLength} bytes but the tensors cover only ${covered} (trailing bytes)`);
  }
}

/** Copies little-endian element bytes (possibly unaligned) into a fresh typed array of `dtype`. */
function copyElements(src: Uint8Array, dtype: StDType): StArrayFor[StDType] {
  const { itemsize, make } = DTYPES[dtype];
  const out = make(src.length / itemsize);
  const view = new Uint8Array(out.buffer);
  view.set(src);
  if (!LITTLE_ENDIAN_HOST) swapBytes(view, itemsize);
  return out;
}

/** Reverses the byte order of each `itemsize`-byte element (for big-endian hosts). */
function swapBytes(bytes: Uint8Array, itemsize: number): void {
  if (itemsize === 1) return;
  for (let i = 0; i < bytes.length; i += itemsize) bytes.subarray(i, i + itemsize).reverse();
}

// ---------------------------------------------------------------------------------------------------
// Writing

/**
 * Serializes tensors exactly like the reference `safetensors.serialize` (Python `save_file`):
 * descending dtype, then name (by Unicode code point = UTF-8 byte order); `__metadata__` first when
 * `metadata` is non-empty (its keys in the object's order); header padded with spaces to 8 bytes.
 */
export function serializeSafetensors(tensors: StTensors, metadata?: Record<string, string>): Uint8Array {
  const items = (tensors instanceof Map ? [...tensors] : Object.entries(tensors)).map(([name, t]) =>
    checkForWrite(name, t),
  );
  const layout = safetensorsLayout(
    items.map(({ name, tensor }) => ({ name, dtype: tensor.dtype, shape: tensor.shape })),
    metadata,
  );
  const out = new Uint8Array(layout.size);
  out.set(layout.header, 0);
  const byName = new Map(items.map((it) => [it.name, it]));
  for (const { name, begin, end } of layout.tensors) {
    const { tensor } = byName.get(name)!;
    out.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, end - begin), begin);
    if (!LITTLE_ENDIAN_HOST) swapBytes(out.subarray(begin, end), DTYPES[tensor.dtype].itemsize);
  }
  return out;
}

/** Where each tensor of a safetensors file lies: `begin`/`end` are byte offsets in the whole file. */
export interface SafetensorsLayout {
  /** The 8-byte length and the padded JSON header: the file's first bytes. */
  header: Uint8Array;
  tensors: { name: string; dtype: StDType; shape: number[]; begin: number; end: number }[];
  /** Bytes of the whole file. */
  size: number;
}

/**
 * The header and data offsets `serializeSafetensors` writes for tensors of these names, dtypes and
 * shapes, without their data: lets a writer stream a large tensor to a file piece by piece.
 */
export function safetensorsLayout(
  entries: readonly { name: string; dtype: StDType; shape: readonly number[] }[],
  metadata?: Record<string, string>,
): SafetensorsLayout {
  const items = entries.map(({ name, dtype, shape }) => {
    const where = `tensor ${show(name)}`;
    if (name === METADATA_KEY)
      fail(`a tensor cannot be named ${METADATA_KEY} (reserved for the metadata map)`);
    const d = readDType(where, dtype);
    const counts = readCounts(where, "shape", shape);
    const count = elementCount(counts);
    if (count === undefined) fail(`${where} shape ${show(counts)} is too large`);
    return { name, dtype: d, shape: counts, byteLength: count * DTYPES[d].itemsize };
  });
  items.sort((a, b) => DTYPES[b.dtype].rank - DTYPES[a.dtype].rank || compareCodePoints(a.name, b.name));
  const parts: string[] = [];
  const metaJson = metadataJson(metadata);
  if (metaJson) parts.push(`${JSON.stringify(METADATA_KEY)}:${metaJson}`);
  let offset = 0;
  const placed: { name: string; dtype: StDType; shape: number[]; from: number; to: number }[] = [];
  for (const { name, dtype, shape, byteLength } of items) {
    const info = `{"dtype":"${dtype}","shape":[${shape.join(",")}],"data_offsets":[${offset},${offset + byteLength}]}`;
    parts.push(`${JSON.stringify(name)}:${info}`);
    placed.push({ name, dtype, shape, from: offset, to: offset + byteLength });
    offset += byteLength;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const header = new Uint8Array(8 + headerLength);
  new DataView(header.buffer).setBigUint64(0, BigInt(headerLength), true);
  header.set(json, 8);
  header.fill(0x20, 8 + json.length, 8 + headerLength);
  const base = header.length;
  return {
    header,
    tensors: placed.map(({ name, dtype, shape, from, to }) => ({
      name,
      dtype,
      shape,
      begin: base + from,
      end: base + to,
    })),
    size: base + offset,
  };
}

/** `data` as the little-endian bytes a safetensors file holds (a copy on big-endian hosts). */
export function littleEndianBytes(dtype: StDType, data: ArrayBufferView): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN_HOST) return bytes;
  const copy = Uint8Array.from(bytes);
  swapBytes(copy, DTYPES[dtype].itemsize);
  return copy;
}

function checkForWrite(name: string, t: StTensor): { name: string; tensor: StTensor; byteLength: number } {
  const where = `tensor ${show(name)}`;
  if (name === METADATA_KEY) fail(`a tensor cannot be named ${METADATA_KEY} (reserved for the metadata map)`);
  if (!isObject(t)) fail(`${where} is ${kindOf(t)}, expected {dtype, shape, data}`);
  const dtype = readDType(where, t.dtype);
  const shape = readCounts(where, "shape", t.shape);
  const count = elementCount(shape);
  if (count === undefined) fail(`${where} shape ${show(shape)} is too large`);
  const tag = ArrayBuffer.isView(t.data)
    ? (t.data as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag]
    : kindOf(t.data);
  if (tag !== DTYPES[dtype].array)
    fail(`${where} dtype ${dtype} needs data as a ${DTYPES[dtype].array}, got ${tag}`);
  if (t.data.length !== count) {
    fail(`${where} data has ${t.data.length} elements but shape ${show(shape)} needs ${count}`);
  }
  return { name, tensor: t, byteLength: count * DTYPES[dtype].itemsize };
}

function metadataJson(metadata: Record<string, string> | undefined): string | undefined {
  if (metadata === undefined) return undefined;
  if (!isObject(metadata)) fail(`metadata is ${kindOf(metadata)}, expected an object of strings`);
  const entries = Object.entries(metadata);
  for (const [key, value] of entries) {
    if (typeof value !== "string")
      fail(`metadata key ${show(key)} has value ${show(value)}, expected a string`);
  }
  if (entries.length === 0) return undefined;
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`;
}

/** Orders strings by Unicode code point, which is the byte order of their UTF-8 (Rust's `str::cmp`). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}
