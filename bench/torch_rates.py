"""PyTorch side of `npm run bench`'s machine rates (Debian's python3-torch), one JSON line per call.

  python3 torch_rates.py sgemm --threads 2 --sizes 1024,2048 [--iters 5]
      -> {"sgemm_gflops": {"1024": g, "2048": g}}: n x n @ n x n float32, 2 n^3 FLOPs, median time
  python3 torch_rates.py forward --threads 2 --batches 16,64,256 CONFIG.json [--iters 5]
      -> {"forward_ms": {"16": ms, ...}}: one no-grad UNet2D forward (a sampling step) per batch size,
         the network of ../shared/bench/unet2d_torch.py (diffusers' UNet2DModel layout)
"""
import argparse, json, os, statistics, sys, time
import torch

ap = argparse.ArgumentParser()
ap.add_argument("what", choices=["sgemm", "forward"])
ap.add_argument("config", nargs="?")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--sizes", default="1024,2048")
ap.add_argument("--batches", default="16,64,256")
ap.add_argument("--iters", type=int, default=5)
ap.add_argument("--shared-bench", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench"))
a = ap.parse_args()
torch.set_num_threads(a.threads)


def median_ms(fn, warmup=2):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(a.iters):
        t0 = time.perf_counter(); fn(); ts.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ts)


if a.what == "sgemm":
    out = {}
    for n in map(int, a.sizes.split(",")):
        x, y = torch.randn(n, n), torch.randn(n, n)
        out[str(n)] = round(2 * n ** 3 / median_ms(lambda: torch.mm(x, y)) / 1e6, 1)
    print(json.dumps({"torch": torch.__version__, "sgemm_gflops": out}))
else:
    sys.path.insert(0, a.shared_bench)
    from unet2d_torch import UNet2D
    cfg = json.load(open(a.config))
    torch.manual_seed(0)
    m = UNet2D(cfg).eval()
    C, S = cfg["in_channels"], cfg["sample_size"]
    out = {}
    for B in map(int, a.batches.split(",")):
        x, t = torch.randn(B, C, S, S), torch.randint(0, 1000, (B,))
        cl = torch.randint(0, cfg["num_class_embeds"], (B,)) if cfg.get("num_class_embeds") else None
        with torch.no_grad():
            out[str(B)] = round(median_ms(lambda: m(x, t, cl)), 1)
    print(json.dumps({"torch": torch.__version__, "forward_ms": out}))
