/**
 * ONNX Runtime Web's WebAssembly backend runs a session on the calling thread and resolves `run()`
 * without giving the browser a turn, so a sampling or training loop of many runs would freeze the
 * page (no repaint of the live canvases, no input) until it ends. This wraps the runtime object that
 * diffuse's `setDefaultRuntime` takes: every `run()` first yields one task (a MessageChannel message,
 * not clamped like setTimeout), and when 50 ms have passed since the last frame, waits for the next
 * frame (requestAnimationFrame, then a task: after the paint), since a task turn alone does not make
 * the browser render. A hidden page (no frames) only yields tasks. Nothing else changes.
 */
import type { OrtLike, OrtSessionLike } from "diffuse/core";

/** Resolves after the browser has had one task turn. */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/** Resolves after the next paint (or after one task when the page is hidden: no frames come). */
export function nextFrame(): Promise<void> {
  if (document.visibilityState === "hidden") return nextTask();
  return new Promise((resolve) => requestAnimationFrame(() => nextTask().then(resolve)));
}

let lastFrame = 0;

/** Yields a task, or a frame when the last one is over 50 ms old. */
async function yieldToBrowser(): Promise<void> {
  if (performance.now() - lastFrame < 50) return nextTask();
  await nextFrame();
  lastFrame = performance.now();
}

/** `ort` with sessions whose `run()` yields to the browser first. */
export function yieldingRuntime(ort: OrtLike): OrtLike {
  return {
    Tensor: ort.Tensor,
    InferenceSession: {
      async create(model, options) {
        const session = await ort.InferenceSession.create(model, options);
        const wrapped: OrtSessionLike = {
          inputNames: session.inputNames,
          outputNames: session.outputNames,
          async run(feeds, fetches) {
            await yieldToBrowser();
            return session.run(feeds, fetches);
          },
          release: () => session.release(),
        };
        return wrapped;
      },
    },
  };
}
