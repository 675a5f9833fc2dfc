/** Built-in datasets and batching (Node-only: reads files). */
export { csvTable, loadCsv, parseCsv } from "./csv.js";
export { decodeImageFile, imageFolderChunks, loadImageFolder } from "./folder.js";
export { readIdx } from "./idx.js";
export type { Channels, RasterImage } from "./image.js";
export { type ImageChunks, readAllImages } from "./image-chunks.js";
export { type Batch, DataLoader, type LoaderOptions, type LoaderPosition } from "./loader.js";
export { FASHION_MNIST_DIR, loadFashionMnist, loadMnist, type Split } from "./mnist.js";
export { identityNormalization, standardize, unnormalize } from "./normalize.js";
export { checkerboard, gaussians, moons, swissroll } from "./points.js";
export { DATASET_NAMES, type LoadOptions, loadDataset, openImageChunks } from "./registry.js";
export {
  type CsvCells,
  csvCells,
  formatCsv,
  loadTable,
  readCsvCells,
  type TableOptions,
  tableDataset,
} from "./table.js";
export { loadTwemoji, twemojiChunks } from "./twemoji.js";
export type { Dataset, ImageDataset, Normalization, VectorDataset } from "./types.js";
export { datasetSize } from "./types.js";
export { loadZipcodes } from "./zipcodes.js";
