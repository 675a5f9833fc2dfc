/**
 * Image datasets read in chunks: a listing of files (with labels) whose pixels are decoded only when
 * a range of them is asked for, so a consumer that goes through the data chunk by chunk (the latent
 * cache's encoder, train/latent-data-node.ts) never holds the whole dataset's pixels. The in-memory
 * loaders (twemoji.ts, folder.ts) are `readAllImages` of the same listing, so both paths give the
 * same numbers.
 */
import { applyLimit, type ImageDataset } from "./types.js";

/** A dataset of `size` images of `shape` [C, H, W] in [-1, 1], decoded on demand. */
export interface ImageChunks {
  readonly name: string;
  readonly size: number;
  readonly shape: [number, number, number];
  readonly labels?: Int32Array;
  readonly numClasses?: number;
  readonly classNames?: string[];
  /** Images start .. start + count - 1 as a new [count, C, H, W] array (only those are decoded). */
  read(start: number, count: number): Float32Array;
}

/** `ImageChunks` over a list of items, `decode(item, out, offset)` writing one image's pixels. */
export function imageChunks<I>(
  base: Omit<ImageChunks, "read" | "size">,
  items: readonly I[],
  decode: (item: I, out: Float32Array, offset: number) => void,
): ImageChunks {
  const per = base.shape[0] * base.shape[1] * base.shape[2];
  return {
    ...base,
    size: items.length,
    read(start, count) {
      if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 0)) {
        throw new RangeError(`${base.name}: read(${start}, ${count}); expected non-negative integers`);
      }
      if (start + count > items.length) {
        throw new RangeError(
          `${base.name}: read(${start}, ${count}) is past the end (${items.length} images)`,
        );
      }
      const out = new Float32Array(count * per);
      for (let i = 0; i < count; i++) decode(items[start + i]!, out, i * per);
      return out;
    },
  };
}

/** The first `limit` items (all when undefined; errors as `applyLimit`). */
export function limitItems<I>(items: readonly I[], limit: number | undefined): I[] {
  return items.slice(0, applyLimit(limit, items.length));
}

/** Every image of `src` in memory, as the loaders return them. */
export function readAllImages(src: ImageChunks): ImageDataset {
  const { name, shape, labels, numClasses, classNames } = src;
  return {
    name,
    kind: "image",
    images: src.read(0, src.size),
    shape,
    ...(labels ? { labels } : {}),
    ...(numClasses !== undefined ? { numClasses } : {}),
    ...(classNames ? { classNames } : {}),
  };
}
