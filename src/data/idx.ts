/**
 * IDX files (LeCun's MNIST format, also Fashion-MNIST): magic `00 00 <type> <ndims>`, then `ndims`
 * big-endian uint32 dimensions, then the data, row-major. Only type 0x08 (unsigned byte) is used by
 * these datasets and supported here. Files may be gzipped (detected by the 1f 8b signature).
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { constants, gunzipSync } from "node:zlib";
import { InputError } from "../io/input-error.js";

/** A malformed IDX file (an `InputError` naming the file). */
export class IdxError extends InputError {
  override name = "IdxError";
}

export interface IdxArray {
  readonly dims: number[];
  /** Row-major bytes of the first `dims[0]` items (after any limit). */
  readonly data: Uint8Array;
}

const UBYTE = 0x08;

function parseHeader(bytes: Uint8Array, file: string): { dims: number[]; headerBytes: number } {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new IdxError("not an IDX file (expected magic 00 00 <type> <ndims>)", { file });
  }
  if (bytes[2] !== UBYTE) {
    throw new IdxError(`IDX type 0x${bytes[2]!.toString(16)} unsupported, expected 0x08 (unsigned byte)`, {
      file,
    });
  }
  const ndims = bytes[3]!;
  const headerBytes = 4 + 4 * ndims;
  if (ndims === 0 || bytes.length < headerBytes) throw new IdxError("truncated IDX header", { file });
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  return { dims, headerBytes };
}

/** Parses an IDX byte array, keeping at most `limit` items along the first axis. */
export function parseIdx(bytes: Uint8Array, file = "IDX data", limit = Number.POSITIVE_INFINITY): IdxArray {
  const { dims, headerBytes } = parseHeader(bytes, file);
  const count = Math.min(dims[0]!, limit);
  const itemSize = dims.slice(1).reduce((a, b) => a * b, 1);
  const need = headerBytes + count * itemSize;
  if (bytes.length < need) {
    throw new IdxError(`truncated IDX data (${bytes.length} bytes, expected at least ${need})`, { file });
  }
  return { dims: [count, ...dims.slice(1)], data: bytes.subarray(headerBytes, need) };
}

function readPrefix(path: string, length: number): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(length);
    const got = readSync(fd, buf, 0, length, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** Bytes an IDX prefix needs to hold `limit` items, once its header is readable (else undefined). */
function bytesNeeded(head: Uint8Array, path: string, limit: number): number | undefined {
  if (head.length < 4 || head.length < 4 + 4 * head[3]!) return undefined;
  const { dims, headerBytes } = parseHeader(head, path);
  const itemSize = dims.slice(1).reduce((a, b) => a * b, 1);
  return headerBytes + Math.min(dims[0]!, limit) * itemSize;
}

/**
 * Gunzips only as much of a file as `limit` items need: inflates growing compressed prefixes with
 * Z_SYNC_FLUSH (which accepts a truncated stream) until the output holds them, or the whole file.
 */
function gunzipPrefix(path: string, limit: number): Uint8Array {
  const size = statSync(path).size;
  for (let take = 1 << 16; ; take *= 2) {
    if (take >= size) return gunzip(path, readFileSync(path));
    const out = gunzip(path, readPrefix(path, take), constants.Z_SYNC_FLUSH);
    const need = bytesNeeded(out, path, limit);
    if (need !== undefined && out.length >= need) return out.subarray(0, need);
  }
}

/** Inflates gzip bytes; corrupt data is an IdxError naming the file. */
function gunzip(path: string, bytes: Uint8Array, finishFlush?: number): Uint8Array {
  try {
    return gunzipSync(bytes, finishFlush === undefined ? {} : { finishFlush });
  } catch (e) {
    throw new IdxError(`gzip data does not decompress (${(e as Error).message})`, { file: path, cause: e });
  }
}

/**
 * Reads an IDX file (raw or gzipped), keeping at most `limit` items; only the bytes those items need
 * are read (and, for a gzipped file, inflated).
 */
export function readIdx(path: string, limit = Number.POSITIVE_INFINITY): IdxArray {
  const head = readPrefix(path, 4 + 4 * 255);
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const bytes = Number.isFinite(limit) ? gunzipPrefix(path, limit) : gunzip(path, readFileSync(path));
    return parseIdx(bytes, path, limit);
  }
  if (!Number.isFinite(limit)) return parseIdx(new Uint8Array(readFileSync(path)), path);
  return parseIdx(readPrefix(path, bytesNeeded(head, path, limit) ?? 0), path, limit);
}
