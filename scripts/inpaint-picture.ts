/**
 * The README's inpainting picture: rows of the first K test digits — originals, the left half given
 * (right half grey), then the first K completions of each safetensors file written by
 * scripts/inpaint-mnist.ts (in the order given).
 *
 *   npx tsx scripts/inpaint-picture.ts --out docs/inpaint-mnist.png [--k 10] A.safetensors B.safetensors ...
 */
import { parseArgs } from "node:util";
import { loadMnist } from "../src/data/mnist.js";
import { readSafetensorsFile, writeFileAtomic } from "../src/io/files.js";
import { imageGrid } from "../src/io/image.js";
import { encodePng } from "../src/io/png.js";
import { tensorToFloat32 } from "../src/io/safetensors_convert.js";

const { values, positionals } = parseArgs({
  options: {
    out: { type: "string", default: "docs/inpaint-mnist.png" },
    k: { type: "string", default: "10" },
  },
  allowPositionals: true,
});
const k = Number(values.k);
const per = 28 * 28;
const test = loadMnist({ split: "test", limit: k });
const rows = [test.images, test.images.map((v, i) => (i % 28 < 14 ? v : 0))];
for (const file of positionals) {
  const st = await readSafetensorsFile(file);
  const samples = st.tensors.get("samples");
  if (!samples) throw new Error(`${file}: no tensor "samples"`);
  rows.push(
    tensorToFloat32(samples)
      .subarray(0, k * per)
      .map((v) => Math.min(1, Math.max(-1, v))),
  );
}
const all = new Float32Array(rows.length * k * per);
for (const [i, r] of rows.entries()) all.set(r, i * k * per);
await writeFileAtomic(values.out!, encodePng(imageGrid(all, [rows.length * k, 1, 28, 28], { nrow: k })));
console.log(`${values.out}: ${rows.length} rows of ${k}`);
