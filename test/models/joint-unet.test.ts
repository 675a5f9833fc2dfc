import { describe, expect, it } from "vitest";
import { JointUNet } from "../../src/models/joint-unet.js";
import { UNet2DModel } from "../../src/models/unet2d.js";
import * as T from "../../src/tensor/index.js";
import { rand } from "../helpers.js";
import { TINY_JOINT } from "./joint-fixture.js";

const ints = (v: number[]) => T.tensor(v, [v.length], "int32");

describe("JointUNet", () => {
  it("maps (x [B,1,8,8], t_x, y [B,3], t_y) to eps_x [B,1,8,8] and eps_y [B,3]", () => {
    const m = new JointUNet(TINY_JOINT);
    const out = m.forward(
      m.parameters(),
      rand(1, [2, 1, 8, 8]),
      ints([3, 500]),
      rand(2, [2, 3]),
      ints([0, 999]),
    );
    expect(out.epsX.shape).toEqual([2, 1, 8, 8]);
    expect(out.epsY.shape).toEqual([2, 3]);
    expect(m.toConfig()._class_name).toBe("JointUNet");
  });

  it("eps_y depends on the image and eps_x on the label (perturbation)", () => {
    const m = new JointUNet(TINY_JOINT);
    const p = m.parameters();
    const x = rand(1, [2, 1, 8, 8]);
    const y = rand(2, [2, 3]);
    const t = ints([100, 100]);
    const a = m.forward(p, x, t, y, t);
    const b = m.forward(p, T.add(x, rand(3, [2, 1, 8, 8])), t, y, t);
    const c = m.forward(p, x, t, T.add(y, 1), t);
    const diff = (u: T.Tensor, v: T.Tensor) => Math.max(...Array.from(T.sub(u, v).values(), Math.abs));
    expect(diff(a.epsY, b.epsY)).toBeGreaterThan(1e-4);
    expect(diff(a.epsX, c.epsX)).toBeGreaterThan(1e-6);
  });

  it("keeps the U-Net's diffusers names: its parameters are a UNet2DModel's, plus label_*", () => {
    const m = new JointUNet(TINY_JOINT);
    const unetNames = new UNet2DModel(TINY_JOINT.unet).parameterSpecs().map((s) => s.name);
    const names = m.parameterSpecs().map((s) => s.name);
    expect(names.filter((n) => !n.startsWith("label_"))).toEqual(unetNames);
    expect(names.some((n) => n.startsWith("label_head."))).toBe(true);
  });

  it("without the extra embedding, forwardParts is the plain forward", () => {
    const u = new UNet2DModel(TINY_JOINT.unet);
    const x = rand(4, [1, 1, 8, 8]);
    const plain = u.forward(u.parameters(), x, ints([10]));
    const parts = u.forwardParts(u.parameters(), x, ints([10]));
    expect(Array.from(parts.output.values())).toEqual(Array.from(plain.values()));
    expect(parts.down.map((d) => d.shape)).toEqual([
      [1, 8, 4, 4],
      [1, 8, 4, 4],
    ]);
    expect(parts.mid.shape).toEqual([1, 8, 4, 4]);
  });

  it('label_head "pyramid": the head reads every down block, the mid block, the label embedding and y_t', () => {
    const m = new JointUNet({ ...TINY_JOINT, label_head: "pyramid" });
    expect(m.toConfig().label_head).toBe("pyramid");
    const specs = Object.fromEntries(m.parameterSpecs().map((s) => [s.name, s.shape]));
    // pooled: 8 + 8 (down blocks) + 8 (mid), label embedding 32 (temb = 4 x 8), y_t 3
    expect(specs["label_head.linear_1.weight"]).toEqual([8, 8 + 8 + 8 + 32 + 3]);
    expect(["label_head.norms.0.weight", "label_head.norms.2.weight"].every((n) => n in specs)).toBe(true);
    expect("label_head.norm.weight" in specs).toBe(false);
    const p = m.parameters();
    const x = rand(1, [2, 1, 8, 8]);
    const y = rand(2, [2, 3]);
    const t = ints([0, 0]);
    const a = m.forward(p, x, t, y, ints([500, 500]));
    expect(a.epsY.shape).toEqual([2, 3]);
    const diff = (u: T.Tensor, v: T.Tensor) => Math.max(...Array.from(T.sub(u, v).values(), Math.abs));
    // a clean image: eps_y changes with the image and with y_t
    expect(diff(a.epsY, m.forward(p, T.mul(x, -1), t, y, ints([500, 500])).epsY)).toBeGreaterThan(1e-4);
    expect(diff(a.epsY, m.forward(p, x, t, T.mul(y, -1), ints([500, 500])).epsY)).toBeGreaterThan(1e-4);
    // the image path is the same U-Net: eps_x of both layouts agree when their shared weights do
    const mid = new JointUNet(TINY_JOINT);
    const shared = { ...mid.parameters() };
    for (const [k, v] of Object.entries(p)) if (!k.startsWith("label_head.")) shared[k] = v;
    const b = mid.forward(shared, x, t, y, ints([500, 500]));
    expect(Array.from(b.epsX.values())).toEqual(Array.from(a.epsX.values()));
  });

  it('a config without label_head is the first layout ("mid"); an unknown one names the field', () => {
    const m = new JointUNet(TINY_JOINT);
    expect(m.config.label_head).toBe("mid");
    expect(m.parameterSpecs().find((s) => s.name === "label_head.linear_1.weight")?.shape).toEqual([
      8,
      8 + 32,
    ]);
    expect(() => new JointUNet({ ...TINY_JOINT, label_head: "top" })).toThrow(/label_head/);
  });

  it("errors name the shape and the field on bad input", () => {
    const m = new JointUNet(TINY_JOINT);
    const p = m.parameters();
    const t = ints([1]);
    expect(() => m.forward(p, rand(1, [1, 1, 8, 8]), t, rand(2, [1, 4]), t)).toThrow(
      /y has shape \[1, 4\], expected \[1, 3\].*label_dim 3/,
    );
    expect(() => m.forward(p, rand(1, [1, 1, 16, 16]), t, rand(2, [1, 3]), t)).toThrow(
      /x has shape \[1, 1, 16, 16\], expected \[batch, 1, 8, 8\]/,
    );
    expect(() => new JointUNet({ ...TINY_JOINT, label_dim: 0 })).toThrow(/label_dim/);
    expect(() => new JointUNet({ label_dim: 3 })).toThrow(/missing required field "unet"/);
    expect(() => new JointUNet({ ...TINY_JOINT, unet: { ...TINY_JOINT.unet, num_class_embeds: 3 } })).toThrow(
      /unet.num_class_embeds/,
    );
  });
});
