"""PyTorch baseline of `npm run bench`'s autoencoder part (bench/vae.ts): diffusers' AutoencoderKL
(Encoder / Decoder of diffusers/models/autoencoders/vae.py, DiagonalGaussian posterior) rebuilt in
plain torch (diffusers is not installed here), same config, batch and threads. One JSON line per config.

  /usr/bin/python3 bench/vae_torch.py [--threads 2] [--batch 16] [--iters 5] configs/*.json

train_step_ms: encode -> posterior sample -> decode -> L1 + 1e-6 KL -> backward -> AdamW (median)
encode_ms:     posterior mean of a batch, no gradients;  decode_ms: a batch of latents, no gradients
"""
import argparse, json, os, statistics, time
import torch
from torch import nn
import torch.nn.functional as F


class Resnet(nn.Module):
    def __init__(s, cin, cout, groups):
        super().__init__()
        s.norm1 = nn.GroupNorm(groups, cin, eps=1e-6); s.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        s.norm2 = nn.GroupNorm(groups, cout, eps=1e-6); s.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        s.short = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(s, x):
        h = s.conv1(F.silu(s.norm1(x)))
        h = s.conv2(F.silu(s.norm2(h)))
        return (s.short(x) if s.short is not None else x) + h


class Attention(nn.Module):  # one head of width C, as diffusers' VAE mid block
    def __init__(s, c, groups):
        super().__init__()
        s.norm = nn.GroupNorm(groups, c, eps=1e-6)
        s.q, s.k, s.v, s.o = (nn.Linear(c, c) for _ in range(4))

    def forward(s, x):
        b, c, h, w = x.shape
        t = s.norm(x).view(b, c, h * w).transpose(1, 2)
        q, k, v = s.q(t), s.k(t), s.v(t)
        a = torch.softmax(q @ k.transpose(1, 2) / c ** 0.5, dim=-1) @ v
        return x + s.o(a).transpose(1, 2).view(b, c, h, w)


class Mid(nn.Module):
    def __init__(s, c, g, attn):
        super().__init__()
        s.r1, s.r2 = Resnet(c, c, g), Resnet(c, c, g)
        s.attn = Attention(c, g) if attn else None

    def forward(s, x):
        x = s.r1(x)
        if s.attn is not None: x = s.attn(x)
        return s.r2(x)


class AutoencoderKL(nn.Module):
    def __init__(s, cfg):
        super().__init__()
        ch, g, L = cfg["block_out_channels"], cfg["norm_num_groups"], cfg["latent_channels"]
        n, attn = cfg.get("layers_per_block", 1), cfg.get("mid_block_add_attention", True)
        cin, cout = cfg["in_channels"], cfg["out_channels"]
        s.enc_in = nn.Conv2d(cin, ch[0], 3, padding=1)
        s.down = nn.ModuleList()
        prev = ch[0]
        for i, c in enumerate(ch):
            blk = nn.Module()
            blk.res = nn.ModuleList([Resnet(prev if j == 0 else c, c, g) for j in range(n)])
            blk.down = nn.Conv2d(c, c, 3, stride=2) if i < len(ch) - 1 else None
            s.down.append(blk); prev = c
        s.enc_mid = Mid(ch[-1], g, attn)
        s.enc_norm = nn.GroupNorm(g, ch[-1], eps=1e-6); s.enc_out = nn.Conv2d(ch[-1], 2 * L, 3, padding=1)
        s.quant = nn.Conv2d(2 * L, 2 * L, 1); s.post_quant = nn.Conv2d(L, L, 1)
        rev = list(reversed(ch))
        s.dec_in = nn.Conv2d(L, rev[0], 3, padding=1)
        s.dec_mid = Mid(rev[0], g, attn)
        s.up = nn.ModuleList()
        prev = rev[0]
        for i, c in enumerate(rev):
            blk = nn.Module()
            blk.res = nn.ModuleList([Resnet(prev if j == 0 else c, c, g) for j in range(n + 1)])
            blk.up = nn.Conv2d(c, c, 3, padding=1) if i < len(rev) - 1 else None
            s.up.append(blk); prev = c
        s.dec_norm = nn.GroupNorm(g, ch[0], eps=1e-6); s.dec_out = nn.Conv2d(ch[0], cout, 3, padding=1)

    def encode(s, x):
        h = s.enc_in(x)
        for blk in s.down:
            for r in blk.res: h = r(h)
            if blk.down is not None: h = blk.down(F.pad(h, (0, 1, 0, 1)))
        h = s.enc_out(F.silu(s.enc_norm(s.enc_mid(h))))
        mean, logvar = s.quant(h).chunk(2, dim=1)
        return mean, logvar.clamp(-30, 20)

    def decode(s, z):
        h = s.dec_mid(s.dec_in(s.post_quant(z)))
        for blk in s.up:
            for r in blk.res: h = r(h)
            if blk.up is not None: h = blk.up(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return s.dec_out(F.silu(s.dec_norm(h)))


ap = argparse.ArgumentParser()
ap.add_argument("configs", nargs="+")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--batch", type=int, default=16)
ap.add_argument("--iters", type=int, default=5)
ap.add_argument("--warmup", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
for path in a.configs:
    cfg = json.load(open(path))
    torch.manual_seed(0)
    m = AutoencoderKL(cfg)
    B, C, S = a.batch, cfg["in_channels"], cfg["sample_size"]
    f = 2 ** (len(cfg["block_out_channels"]) - 1)
    x = torch.rand(B, C, S, S) * 2 - 1
    z = torch.randn(B, cfg["latent_channels"], S // f, S // f)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0)

    def train():
        opt.zero_grad(set_to_none=True)
        mean, logvar = m.encode(x)
        y = m.decode(mean + torch.exp(0.5 * logvar) * torch.randn_like(mean))
        kl = 0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).sum((1, 2, 3)).mean() / (C * S * S)
        ((x - y).abs().mean() + 1e-6 * kl).backward()
        opt.step()

    def encode():
        with torch.no_grad(): m.encode(x)

    def decode():
        with torch.no_grad(): m.decode(z)

    res = {"config": os.path.basename(path), "batch": B, "threads": a.threads, "torch": torch.__version__,
           "params": sum(p.numel() for p in m.parameters())}
    for name, fn in (("train_step_ms", train), ("encode_ms", encode), ("decode_ms", decode)):
        for _ in range(a.warmup): fn()
        ts = []
        for _ in range(a.iters):
            t0 = time.perf_counter(); fn(); ts.append((time.perf_counter() - t0) * 1000)
        res[name] = round(statistics.median(ts), 1)
    print(json.dumps(res), flush=True)
