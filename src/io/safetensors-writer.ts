/**
 * A safetensors file written piece by piece, for tensors too large to hold at once (samples drawn in
 * batches: `diffuse sample --out x.safetensors`). The header is written first from the tensors' names,
 * dtypes and shapes (`safetensorsLayout`, the same bytes `serializeSafetensors` writes), then each
 * piece at its place in the file; `close` checks that every byte was written, syncs and renames the
 * temporary file over the target (crash-safe like `writeFileAtomic`). Node-only.
 */
import { randomBytes } from "node:crypto";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { syncDirectory } from "./files.js";
import {
  dtypeItemsize,
  littleEndianBytes,
  type SafetensorsLayout,
  type StArrayFor,
  type StDType,
  safetensorsLayout,
} from "./safetensors.js";

export class SafetensorsFileWriter {
  private written = 0;

  private constructor(
    readonly path: string,
    private readonly temp: string,
    private readonly handle: FileHandle,
    readonly layout: SafetensorsLayout,
  ) {}

  /** Opens a temporary file next to `path` and writes the header of these tensors. */
  static async create(
    path: string,
    entries: readonly { name: string; dtype: StDType; shape: readonly number[] }[],
    metadata?: Record<string, string>,
  ): Promise<SafetensorsFileWriter> {
    const layout = safetensorsLayout(entries, metadata);
    const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
    let handle: FileHandle;
    try {
      handle = await open(temp, "wx");
    } catch (e) {
      throw new Error(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
    }
    const w = new SafetensorsFileWriter(path, temp, handle, layout);
    await w.put(layout.header, 0);
    return w;
  }

  /** Writes `data` as elements `offset..offset + data.length - 1` of tensor `name` (flat, row-major). */
  async write<D extends StDType>(name: string, offset: number, data: StArrayFor[D]): Promise<void> {
    const t = this.layout.tensors.find((x) => x.name === name);
    if (!t) throw new Error(`safetensors writer: no tensor ${JSON.stringify(name)} in ${this.path}`);
    const item = dtypeItemsize(t.dtype);
    const count = (data as ArrayLike<number>).length;
    if ((data as ArrayBufferView).byteLength !== count * item) {
      throw new Error(
        `safetensors writer: tensor ${JSON.stringify(name)} is ${t.dtype}; the data given are not`,
      );
    }
    const bytes = littleEndianBytes(t.dtype, data as ArrayBufferView);
    const begin = t.begin + offset * item;
    if (!Number.isInteger(offset) || offset < 0 || begin + bytes.length > t.end) {
      throw new Error(
        `safetensors writer: elements ${offset}..${offset + count - 1} are outside tensor ${JSON.stringify(name)} (${(t.end - t.begin) / item} elements)`,
      );
    }
    await this.put(bytes, begin);
  }

  /** Checks that every data byte was written (pieces must not overlap), syncs, renames over `path`. */
  async close(): Promise<void> {
    const expected = this.layout.size;
    if (this.written !== expected) {
      await this.abort();
      throw new Error(
        `safetensors writer: ${this.written} of ${expected} bytes of ${this.path} were written; nothing was saved`,
      );
    }
    try {
      await this.handle.sync();
      await this.handle.close();
      await rename(this.temp, this.path);
    } catch (e) {
      await rm(this.temp, { force: true });
      throw new Error(`cannot write ${this.path}: ${(e as Error).message}`, { cause: e });
    }
    await syncDirectory(dirname(this.path));
  }

  /** Closes and removes the temporary file (the target is left as it was). */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.temp, { force: true });
  }

  private async put(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
    this.written += bytes.length;
  }
}
