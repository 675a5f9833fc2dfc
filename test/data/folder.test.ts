import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encode as encodeJpeg } from "jpeg-js";
import { afterAll, describe, expect, it } from "vitest";
import { loadImageFolder } from "../../src/data/folder.js";
import { InputError } from "../../src/io/input-error.js";
import { JpegError } from "../../src/io/jpeg.js";
import { encodePng, PngError } from "../../src/io/png.js";
import { expectValidDataset, removeTempDirs, tempDir } from "./helpers.js";

/** A solid-colour RGB(A) image of the given size as interleaved bytes. */
function solid(width: number, height: number, rgba: number[]): Uint8Array {
  const data = new Uint8Array(width * height * rgba.length);
  for (let i = 0; i < data.length; i++) data[i] = rgba[i % rgba.length]!;
  return data;
}

function writePng(path: string, width: number, height: number, rgba: number[]): void {
  const channels = rgba.length as 3 | 4;
  writeFileSync(path, encodePng({ width, height, channels, data: solid(width, height, rgba) }));
}

function writeJpeg(path: string, width: number, height: number, rgb: number[]): void {
  const data = solid(width, height, [...rgb, 255]);
  writeFileSync(path, encodeJpeg({ width, height, data }, 95).data);
}

afterAll(removeTempDirs);

describe("image folder", () => {
  const root = tempDir("folder-");
  mkdirSync(join(root, "red"));
  mkdirSync(join(root, "blue"));
  writePng(join(root, "red", "a.png"), 20, 10, [255, 0, 0]);
  writePng(join(root, "red", "b.PNG"), 7, 7, [255, 0, 0, 255]);
  writeJpeg(join(root, "blue", "c.jpg"), 16, 24, [0, 0, 255]);
  writeFileSync(join(root, "blue", "notes.txt"), "ignored");

  it("gives one class per subfolder (sorted), converts and resizes every image", () => {
    const ds = loadImageFolder(root, { size: 8 });
    expect(ds.shape).toEqual([3, 8, 8]);
    expectValidDataset(ds, 3);
    expect(ds.classNames).toEqual(["blue", "red"]);
    expect(Array.from(ds.labels!)).toEqual([0, 1, 1]);
    const hw = 64;
    const mean = (img: number, c: number) =>
      ds.images.subarray((img * 3 + c) * hw, (img * 3 + c + 1) * hw).reduce((s, v) => s + v, 0) / hw;
    // JPEG is lossy: a solid colour comes back within a few levels.
    const want = [-1, -1, 1];
    for (const c of [0, 1, 2]) expect(Math.abs(mean(0, c) - want[c]!)).toBeLessThan(0.05);
    for (const img of [1, 2]) {
      expect(Array.from(ds.images.subarray(img * 3 * hw, (img + 1) * 3 * hw))).toEqual(
        Array.from({ length: 3 * hw }, (_, i) => (i < hw ? 1 : -1)),
      );
    }
  });

  it("is unlabelled when the images sit in the folder itself, and honours limit and channels", () => {
    const flat = tempDir("flat-");
    writePng(join(flat, "1.png"), 4, 4, [0, 0, 0, 0]);
    writePng(join(flat, "2.png"), 4, 4, [0, 0, 0, 255]);
    const ds = loadImageFolder(flat, { size: 4, channels: 1 });
    expect(ds.labels).toBeUndefined();
    expect(Array.from(ds.images)).toEqual([...new Array(16).fill(1), ...new Array(16).fill(-1)]);
    expect(loadImageFolder(flat, { size: 4, limit: 1 }).images.length).toBe(3 * 16);
  });

  it("reports missing folders, empty folders and undecodable files", () => {
    expect(() => loadImageFolder(join(root, "nope"))).toThrow(/nope is not a readable directory/);
    expect(() => loadImageFolder(tempDir("empty-"))).toThrow(/no \.png\/\.jpg\/\.jpeg images/);
    const bad = tempDir("bad-");
    writeFileSync(join(bad, "x.png"), "not a png");
    expect(() => loadImageFolder(bad)).toThrow(/x\.png: not a PNG or JPEG file/);
    expect(() => loadImageFolder(root, { size: 0 })).toThrow(/size.*0/);
  });

  /** The error `loadImageFolder(dir)` throws (fails the test if it does not throw). */
  function folderError(dir: string): InputError {
    try {
      loadImageFolder(dir, { size: 4 });
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return e as InputError;
    }
    throw new Error(`loadImageFolder(${dir}) did not throw`);
  }

  it("a corrupt PNG in a class subfolder: the error names the file (folder and entry)", () => {
    const dir = tempDir("corrupt-png-");
    mkdirSync(join(dir, "cats"));
    writePng(join(dir, "cats", "1.png"), 4, 4, [1, 2, 3]);
    writePng(join(dir, "cats", "2.png"), 4, 4, [1, 2, 3]);
    const file = join(dir, "cats", "2.png");
    const bytes = readFileSync(file);
    bytes[bytes.length - 20]! ^= 0xff; // inside IDAT: its CRC no longer matches
    writeFileSync(file, bytes);
    const e = folderError(dir);
    expect(e).toBeInstanceOf(PngError);
    expect(e.file).toBe(file);
    expect(e.message).toBe(`${file}: ${e.detail}`);
    expect(e.message).toMatch(/cats\/2\.png: png: chunk "IDAT" at byte \d+ has a bad CRC/);
  });

  it("a corrupt JPEG: the error names the file and says it is a JPEG problem", () => {
    const dir = tempDir("corrupt-jpeg-");
    const file = join(dir, "photo.jpg");
    writeJpeg(file, 16, 16, [10, 200, 30]);
    const bytes = readFileSync(file);
    bytes.fill(0, 20, 40); // zeroes where a marker is expected: jpeg-js says "unknown JPEG marker 0"
    writeFileSync(file, bytes);
    const e = folderError(dir);
    expect(e).toBeInstanceOf(JpegError);
    expect(e.file).toBe(file);
    expect(e.message).toMatch(/photo\.jpg: jpeg: /);
  });

  it("a truncated JPEG names the file", () => {
    const dir = tempDir("trunc-jpeg-");
    const file = join(dir, "t.jpeg");
    writeJpeg(file, 16, 16, [10, 200, 30]);
    writeFileSync(file, readFileSync(file).subarray(0, 100));
    const e = folderError(dir);
    expect(e.file).toBe(file);
    expect(e.message.startsWith(`${file}: jpeg: `)).toBe(true);
  });
});
