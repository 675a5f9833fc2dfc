/**
 * Twemoji (Twitter's emoji art, CC-BY 4.0) at 64x64 from the npm package `emoji-datasource-twitter`:
 * one PNG per emoji and skin-tone variant in `img/twitter/64/`, listed with their Unicode category in
 * `emoji.json`. Labels are the category ids in the order of the package's `categories.json`
 * ("Smileys & Emotion", "People & Body", ...). Images are taken in file-name order. `twemojiChunks`
 * decodes them on demand (image-chunks.ts), `loadTwemoji` all at once.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inFile } from "../io/input-error.js";
import { decodePng } from "../io/png.js";
import { assertChannels, type Channels, prepareImage } from "./image.js";
import { type ImageChunks, imageChunks, limitItems, readAllImages } from "./image-chunks.js";
import { packageRoot } from "./packages.js";
import type { ImageDataset } from "./types.js";

export interface TwemojiOptions {
  limit?: number;
  /** 3: RGB composited over white (default); 4: RGBA with straight alpha; 1: gray over white. */
  channels?: Channels;
  /** Output side length (default 64, the stored size). */
  size?: number;
}

interface EmojiEntry {
  image: string;
  category: string;
  has_img_twitter?: boolean;
  skin_variations?: Record<string, { image: string; has_img_twitter?: boolean }>;
}

/** (file, category) of every Twitter image, sorted by file name. */
function listImages(dir: string): { file: string; category: string }[] {
  const entries = JSON.parse(readFileSync(join(dir, "emoji.json"), "utf8")) as EmojiEntry[];
  const list: { file: string; category: string }[] = [];
  for (const e of entries) {
    if (e.has_img_twitter) list.push({ file: e.image, category: e.category });
    for (const v of Object.values(e.skin_variations ?? {})) {
      if (v.has_img_twitter) list.push({ file: v.image, category: e.category });
    }
  }
  return list.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** Twemoji as chunks: the listing and labels now, each image's PNG decoded when read. */
export function twemojiChunks(opts: TwemojiOptions = {}): ImageChunks {
  const channels = opts.channels ?? 3;
  assertChannels(channels);
  const size = opts.size ?? 64;
  if (!Number.isInteger(size) || size < 1) throw new Error(`size: expected a positive integer, got ${size}`);
  const dir = packageRoot("emoji-datasource-twitter", "twemoji");
  const classNames = Object.keys(JSON.parse(readFileSync(join(dir, "categories.json"), "utf8")) as object);
  const list = limitItems(listImages(dir), opts.limit);
  const labels = Int32Array.from(list, ({ file, category }) => {
    const id = classNames.indexOf(category);
    if (id < 0)
      throw new Error(`twemoji: ${file} has category ${JSON.stringify(category)}, not in categories.json`);
    return id;
  });
  return imageChunks(
    { name: "twemoji", shape: [channels, size, size], labels, numClasses: classNames.length, classNames },
    list,
    ({ file }, out, offset) => {
      const path = join(dir, "img", "twitter", "64", file);
      prepareImage(
        inFile(path, () => decodePng(readFileSync(path))),
        { channels, size },
        out,
        offset,
      );
    },
  );
}

/** Loads Twemoji images as [N, C, size, size] in [-1, 1] with category labels. */
export function loadTwemoji(opts: TwemojiOptions = {}): ImageDataset {
  return readAllImages(twemojiChunks(opts));
}
