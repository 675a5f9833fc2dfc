/**
 * A small static server for the built playground (web/dist) on 127.0.0.1, sending the headers that
 * make the page cross-origin isolated (COOP same-origin + COEP require-corp), which WebAssembly
 * threads (SharedArrayBuffer) need:
 *
 *   npm run web:serve [-- PORT]     (default 8080; then open http://127.0.0.1:8080/)
 */
import { createReadStream, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".map": "application/json; charset=utf-8",
  ".safetensors": "application/octet-stream",
};

/** Serves `root` on 127.0.0.1:`port` (0: any free port); resolves with the server and its URL. */
export function serve(root: string, port = 0): Promise<{ server: Server; url: string }> {
  const base = path.resolve(root);
  const server = createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    const file = path.join(base, urlPath.endsWith("/") ? `${urlPath}index.html` : urlPath);
    const headers = {
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Cache-Control": "no-store",
    };
    let size = -1;
    try {
      if (file.startsWith(base + path.sep) && statSync(file).isFile()) size = statSync(file).size;
    } catch {}
    if (size < 0) {
      res.writeHead(404, { ...headers, "Content-Type": "text/plain" }).end(`not found: ${urlPath}\n`);
      return;
    }
    res.writeHead(200, {
      ...headers,
      "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream",
      "Content-Length": size,
    });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const a = server.address();
      const p = typeof a === "object" && a ? a.port : port;
      resolve({ server, url: `http://127.0.0.1:${p}/` });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "dist");
  const { url } = await serve(dist, Number(process.argv[2] ?? 8080));
  console.log(`serving ${dist} at ${url} (COOP/COEP set: WebAssembly threads available)`);
}
