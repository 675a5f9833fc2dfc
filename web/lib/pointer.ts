/**
 * Drawing a 2-D training set with the mouse (or a pen, or a finger): pointer events on the points
 * canvas add a point where the pointer goes down and then one every `spacing` canvas pixels along
 * the stroke while it stays down (points in between are filled in when the pointer moved further
 * than that between two events). Points are kept in data units (the canvas's fixed view), so the
 * trainer gets exactly what was drawn. Browser-safe.
 */
import { toData, type View } from "./draw.js";

export interface Drawing {
  /** The points drawn so far, x and y interleaved, data units. */
  readonly points: number[];
  clear(): void;
  /** While false the canvas ignores the pointer (e.g. during training). */
  enabled: boolean;
}

/** Listens on `canvas`; `onChange` runs after every added point and after `clear()`. */
export function attachDrawing(
  canvas: HTMLCanvasElement,
  view: View,
  onChange: () => void,
  spacing = 4,
): Drawing {
  const points: number[] = [];
  let down = false;
  let last: [number, number] | null = null;
  const drawing: Drawing = {
    points,
    enabled: true,
    clear() {
      points.length = 0;
      onChange();
    },
  };
  /** The pointer's position in canvas pixels (inside the border; the canvas may be scaled by CSS). */
  const at = (e: PointerEvent): [number, number] => {
    const r = canvas.getBoundingClientRect();
    const x = e.clientX - r.left - canvas.clientLeft;
    const y = e.clientY - r.top - canvas.clientTop;
    return [(x * canvas.width) / canvas.clientWidth, (y * canvas.height) / canvas.clientHeight];
  };
  const add = (p: [number, number]) => {
    last = p;
    points.push(...toData(canvas, view, p[0], p[1]));
  };
  canvas.addEventListener("pointerdown", (e) => {
    if (!drawing.enabled || e.button !== 0) return;
    down = true;
    canvas.setPointerCapture(e.pointerId);
    add(at(e));
    onChange();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!down || !drawing.enabled) return;
    const p = at(e);
    const from = last ?? p;
    const d = Math.hypot(p[0] - from[0], p[1] - from[1]);
    if (d < spacing) return;
    for (let k = 1; k <= Math.floor(d / spacing); k++) {
      const f = (k * spacing) / d;
      add([from[0] + f * (p[0] - from[0]), from[1] + f * (p[1] - from[1])]);
    }
    onChange();
  });
  const up = () => {
    down = false;
    last = null;
  };
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  return drawing;
}
