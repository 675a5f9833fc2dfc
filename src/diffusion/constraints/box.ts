/**
 * Box bounds lo <= x <= hi, elementwise: the projection is the clamp min(max(x, lo), hi)
 * (separable, so it is the nearest point of the box).
 */
import * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import type { Projection } from "./project.js";

/** The projection onto [lo, hi] per entry (numbers, or tensors broadcasting to the samples). */
export function box(lo: number | T.Tensor, hi: number | T.Tensor): Projection {
  if (typeof lo === "number" && typeof hi === "number" && !(lo <= hi)) {
    invalid("box bounds", `[${lo}, ${hi}]`, "lo <= hi (an empty box has no projection)");
  }
  if (typeof lo !== "number" && typeof hi !== "number") {
    const l = lo.values();
    const h = hi.values();
    if (l.length === h.length) {
      const bad = l.findIndex((v, i) => !(v <= h[i]!));
      if (bad >= 0) invalid("box bounds", `lo[${bad}] = ${l[bad]} > hi[${bad}] = ${h[bad]}`, "lo <= hi");
    }
  }
  return (x) => T.minimum(T.maximum(x, lo), hi);
}
