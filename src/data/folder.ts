/**
 * A folder of the user's PNG/JPEG images. Each image is converted to the chosen channels, center-cropped
 * to a square and resized (area averaging down, bilinear up) to `size` x `size`.
 *
 * Layout, as torchvision's ImageFolder: images directly in the folder give an unlabelled dataset;
 * images in subfolders (`root/cat/1.png`, `root/dog/2.jpg`) give one class per subfolder, class ids in
 * sorted subfolder-name order. Files are taken in sorted name order; other files are ignored.
 * `imageFolderChunks` decodes them on demand (image-chunks.ts), `loadImageFolder` all at once.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { InputFileError, inFile } from "../io/input-error.js";
import { decodeJpeg, isJpeg } from "../io/jpeg.js";
import { decodePng } from "../io/png.js";
import { assertChannels, type Channels, prepareImage, type RasterImage } from "./image.js";
import { type ImageChunks, imageChunks, limitItems, readAllImages } from "./image-chunks.js";
import type { ImageDataset } from "./types.js";

export interface FolderOptions {
  /** Output side length (default 64). */
  size?: number;
  /** 3: RGB over white (default); 4: RGBA; 1: gray. */
  channels?: Channels;
  limit?: number;
}

const EXTENSIONS = new Set([".png", ".jpg", ".jpeg"]);

/** Decodes PNG or JPEG bytes, chosen by their signature (not the file name); `file` names them in errors. */
export function decodeImageBytes(bytes: Uint8Array, file = "image"): RasterImage {
  return inFile(file, () => {
    if (bytes[0] === 0x89 && bytes[1] === 0x50) return decodePng(bytes);
    if (isJpeg(bytes)) return decodeJpeg(bytes);
    throw new InputFileError(file, "not a PNG or JPEG file (unknown signature)");
  });
}

/** Decodes a PNG or JPEG file; every error names the file. */
export function decodeImageFile(path: string): RasterImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new InputFileError(path, `cannot read the image (${(e as Error).message})`, { cause: e });
  }
  return decodeImageBytes(bytes, path);
}

function sortedEntries(dir: string): string[] {
  return readdirSync(dir).sort();
}

function isImage(path: string): boolean {
  return EXTENSIONS.has(extname(path).toLowerCase()) && statSync(path).isFile();
}

/** Image files with their class index (-1 when unlabelled), and the class names. */
export function listImageFolder(root: string): {
  files: { path: string; label: number }[];
  classes: string[];
} {
  let names: string[];
  try {
    names = sortedEntries(root);
  } catch {
    throw new Error(`folder: ${root} is not a readable directory`);
  }
  const direct = names.map((n) => join(root, n)).filter(isImage);
  const classes = names.filter((n) => statSync(join(root, n)).isDirectory());
  const files: { path: string; label: number }[] = direct.map((path) => ({ path, label: -1 }));
  if (direct.length === 0) {
    classes.forEach((c, label) => {
      for (const n of sortedEntries(join(root, c))) {
        const path = join(root, c, n);
        if (isImage(path)) files.push({ path, label });
      }
    });
  }
  if (files.length === 0) {
    throw new Error(`folder: no .png/.jpg/.jpeg images in ${root} or its subfolders`);
  }
  return { files, classes: direct.length === 0 ? classes : [] };
}

/** An image folder as chunks: the listing and labels now, each file decoded when read. */
export function imageFolderChunks(root: string, opts: FolderOptions = {}): ImageChunks {
  const channels = opts.channels ?? 3;
  assertChannels(channels);
  const size = opts.size ?? 64;
  if (!Number.isInteger(size) || size < 1) throw new Error(`size: expected a positive integer, got ${size}`);
  const listing = listImageFolder(root);
  const files = limitItems(listing.files, opts.limit);
  const labelled =
    listing.classes.length === 0
      ? {}
      : {
          labels: Int32Array.from(files, (f) => f.label),
          numClasses: listing.classes.length,
          classNames: listing.classes,
        };
  return imageChunks(
    { name: `folder:${root}`, shape: [channels, size, size], ...labelled },
    files,
    // The file names the folder and the entry (root/class/name.png).
    ({ path }, out, offset) => prepareImage(decodeImageFile(path), { channels, size }, out, offset),
  );
}

/** Loads an image folder as [N, C, size, size] in [-1, 1], labelled when it has class subfolders. */
export function loadImageFolder(root: string, opts: FolderOptions = {}): ImageDataset {
  return readAllImages(imageFolderChunks(root, opts));
}
