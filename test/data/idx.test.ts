import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { parseIdx, readIdx } from "../../src/data/idx.js";
import { makeKey } from "../../src/random/philox.js";
import { randint } from "../../src/random/sample.js";
import { removeTempDirs, tempDir } from "./helpers.js";

/** An IDX ubyte file with the given dims and contents. */
function idxBytes(dims: number[], data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(head.buffer);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
}

const randomBytes = (n: number, seed: number) => Uint8Array.from(randint(makeKey(seed), n, 0, 256));

afterAll(removeTempDirs);

describe("parseIdx", () => {
  it("reads dims and row-major data, honouring a limit", () => {
    const data = Uint8Array.from({ length: 24 }, (_, i) => i);
    const all = parseIdx(idxBytes([4, 2, 3], data));
    expect(all.dims).toEqual([4, 2, 3]);
    expect(Array.from(all.data)).toEqual(Array.from(data));
    const two = parseIdx(idxBytes([4, 2, 3], data), "x", 2);
    expect(two.dims).toEqual([2, 2, 3]);
    expect(Array.from(two.data)).toEqual(Array.from(data.subarray(0, 12)));
  });

  it("rejects bad magic, unsupported types and truncation, naming the file", () => {
    expect(() => parseIdx(new Uint8Array([1, 2, 3, 4]), "f.idx")).toThrow(/f\.idx: not an IDX file/);
    const float = idxBytes([1], new Uint8Array(4));
    float[2] = 0x0d;
    expect(() => parseIdx(float, "f.idx")).toThrow(/f\.idx: IDX type 0xd unsupported/);
    expect(() => parseIdx(idxBytes([5, 2], new Uint8Array(6)), "f.idx")).toThrow(
      /f\.idx: truncated IDX data/,
    );
  });
});

describe("readIdx", () => {
  const dir = tempDir("idx-");
  // Incompressible, so the gzipped file is larger than the first inflate window (64 KiB).
  const data = randomBytes(3000 * 100, 1);
  const bytes = idxBytes([3000, 10, 10], data);
  writeFileSync(join(dir, "raw"), bytes);
  writeFileSync(join(dir, "gz"), gzipSync(bytes));

  it("reads raw and gzipped files identically, whole or limited", () => {
    for (const limit of [undefined, 1, 2000, 5000]) {
      const raw = readIdx(join(dir, "raw"), limit);
      const gz = readIdx(join(dir, "gz"), limit);
      const n = Math.min(limit ?? 3000, 3000);
      expect(raw.dims).toEqual([n, 10, 10]);
      expect(gz.dims).toEqual(raw.dims);
      expect(Buffer.from(gz.data).equals(Buffer.from(data.subarray(0, n * 100)))).toBe(true);
      expect(Buffer.from(raw.data).equals(Buffer.from(data.subarray(0, n * 100)))).toBe(true);
    }
  });
});
