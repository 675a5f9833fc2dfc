import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { serializeSafetensors } from "../../src/io/safetensors.js";
import { SafetensorsFileWriter } from "../../src/io/safetensors-writer.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "st-writer-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const samples = Float32Array.from({ length: 5 * 6 }, (_, i) => Math.sin(i) * 3);
const labels = Int32Array.from([4, 0, 9, 1, 2]);
const entries = [
  { name: "samples", dtype: "F32" as const, shape: [5, 2, 3] },
  { name: "labels", dtype: "I32" as const, shape: [5] },
];

describe("SafetensorsFileWriter", () => {
  it("pieces written in any order give the bytes of serializeSafetensors", async () => {
    const path = join(tempDir(), "s.safetensors");
    const w = await SafetensorsFileWriter.create(path, entries, { format: "pt" });
    await w.write("samples", 18, samples.subarray(18)); // the last rows first
    await w.write("labels", 0, labels);
    await w.write("samples", 0, samples.subarray(0, 18));
    expect(existsSync(path)).toBe(false); // only the temporary file exists until close
    await w.close();
    const expected = serializeSafetensors(
      {
        samples: { dtype: "F32", shape: [5, 2, 3], data: samples },
        labels: { dtype: "I32", shape: [5], data: labels },
      },
      { format: "pt" },
    );
    expect(Buffer.from(readFileSync(path)).equals(Buffer.from(expected))).toBe(true);
  });

  it("close refuses a file with unwritten bytes and leaves nothing behind", async () => {
    const dir = tempDir();
    const path = join(dir, "s.safetensors");
    const w = await SafetensorsFileWriter.create(path, entries);
    await w.write("samples", 0, samples);
    await expect(w.close()).rejects.toThrow(/bytes of .*s\.safetensors were written; nothing was saved/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses a piece outside its tensor, an unknown name and data of another dtype", async () => {
    const path = join(tempDir(), "s.safetensors");
    const w = await SafetensorsFileWriter.create(path, entries);
    await expect(w.write("samples", 25, samples.subarray(0, 6))).rejects.toThrow(
      /elements 25\.\.30 are outside tensor "samples" \(30 elements\)/,
    );
    await expect(w.write("label", 0, labels)).rejects.toThrow(/no tensor "label"/);
    await expect(w.write("labels", 0, new Float64Array(5))).rejects.toThrow(/is I32/);
    await w.abort();
  });
});
