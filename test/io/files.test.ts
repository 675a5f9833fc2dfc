import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  readJsonFile,
  readSafetensorsFile,
  writeFileAtomic,
  writeSafetensorsFile,
} from "../../src/io/files.js";
import { SafetensorsError, type StTensor } from "../../src/io/safetensors.js";

const root = mkdtempSync(join(tmpdir(), "diffuse-io-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** An empty directory of its own for each test. */
function freshDir(): string {
  return mkdtempSync(join(root, "case-"));
}

describe("writeFileAtomic", () => {
  it("writes text and bytes, replaces existing files and leaves no temporary file", async () => {
    const dir = freshDir();
    const path = join(dir, "state.json");
    await writeFileAtomic(path, '{"step": 1}');
    expect(readFileSync(path, "utf8")).toBe('{"step": 1}');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(["state.json"]);
  });

  it("fails with the path named when the directory is missing", async () => {
    const path = join(freshDir(), "missing", "x.bin");
    await expect(writeFileAtomic(path, "x")).rejects.toThrow(path);
  });
});

describe("readJsonFile", () => {
  it("parses JSON", async () => {
    const path = join(freshDir(), "config.json");
    writeFileSync(path, '{"in_channels": 3}');
    expect(await readJsonFile(path, "model config")).toEqual({ in_channels: 3 });
  });

  it("names the file and what it is when missing", async () => {
    const path = join(freshDir(), "nope.json");
    await expect(readJsonFile(path, "model config")).rejects.toThrow(`model config ${path} does not exist`);
  });

  it("names the file when it is not JSON", async () => {
    const path = join(freshDir(), "bad.json");
    writeFileSync(path, "{in_channels: 3");
    await expect(readJsonFile(path, "model config")).rejects.toThrow(
      `model config ${path} is not valid JSON`,
    );
  });
});

describe("safetensors files", () => {
  it("round-trips tensors and metadata", async () => {
    const path = join(freshDir(), "w.safetensors");
    const tensors: Record<string, StTensor> = {
      "conv.weight": { dtype: "F32", shape: [2, 1], data: new Float32Array([0.25, -4]) },
      step: { dtype: "I64", shape: [], data: new BigInt64Array([12n]) },
    };
    await writeSafetensorsFile(path, tensors, { format: "pt" });
    const read = await readSafetensorsFile(path);
    expect(read.metadata).toEqual({ format: "pt" });
    expect(read.tensors.get("conv.weight")).toEqual(tensors["conv.weight"]);
    expect(read.tensors.get("step")).toEqual(tensors.step);
  });

  it("names the file in parse errors and when missing", async () => {
    const dir = freshDir();
    const path = join(dir, "broken.safetensors");
    writeFileSync(path, new Uint8Array(3));
    await expect(readSafetensorsFile(path)).rejects.toThrow(SafetensorsError);
    await expect(readSafetensorsFile(path)).rejects.toThrow(`${path}: safetensors: file is 3 bytes`);
    await expect(readSafetensorsFile(join(dir, "none.safetensors"))).rejects.toThrow("does not exist");
  });
});
