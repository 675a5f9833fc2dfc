/**
 * ONNX Runtime Web's WebAssembly backend runs a session on the calling thread and resolves `run()`
 * without giving the browser a turn, so a sampling or training loop of many runs would freeze the
 * page (no repaint of the live canvases, no input) until it ends. This wraps the runtime object that
 * diffuse's `setDefaultRuntime` takes: every `run()` first yields one task (a MessageChannel message,
 * not clamped like setTimeout), so the page repaints between network calls. Nothing else changes.
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
            await nextTask();
            return session.run(feeds, fetches);
          },
          release: () => session.release(),
        };
        return wrapped;
      },
    },
  };
}
