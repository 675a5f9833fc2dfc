import { readFileSync } from "node:fs";
import { UNet2DModel } from "/work/main/src/models/unet2d.js";
import { makeKey, normal, randint } from "/work/main/src/random/index.js";
import { trace } from "/work/main/src/tensor/compile.js";
import * as T from "/work/main/src/tensor/index.js";
import { initAdamW } from "/work/main/src/train/optim/adamw.js";
import { makeTrainStep, NO_EMA } from "/work/main/src/train/step.js";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const B = 32;
const model = new UNet2DModel(cfg, { seed: 0 });
const params = model.parameters();
const [C, S] = [cfg.in_channels, cfg.sample_size];
const x = T.tensor(normal(makeKey(0), B * C * S * S), [B, C, S, S]);
const target = T.tensor(normal(makeKey(1), B * C * S * S), [B, C, S, S]);
const t = T.tensor(randint(makeKey(2), B, 0, 1000), [B], "int32");
const labels = cfg.num_class_embeds
  ? T.tensor(randint(makeKey(3), B, 0, cfg.num_class_embeds), [B], "int32")
  : undefined;
const batch: any = labels ? { x, t, target, labels } : { x, t, target };
const loss = (p: any, b: any) => T.mean(T.square(T.sub(model.forward(p, b.x, b.t, b.labels), b.target)));
const fn: any =
  process.argv[3] === "fwd"
    ? (p: any, b: any) => model.forward(p, b.x, b.t, b.labels)
    : makeTrainStep(loss, { optimizer: { weightDecay: 1e-2 } });
const args =
  process.argv[3] === "fwd" ? [params, batch] : [params, initAdamW(params), NO_EMA, batch, T.scalar(1e-4)];
const { graph } = trace(fn, args);
const h = new Map<string, number>();
for (const n of graph.nodes) h.set(n.prim, (h.get(n.prim) ?? 0) + 1);
console.log(
  graph.nodes.length,
  [...h]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}:${v}`)
    .join(" "),
);
