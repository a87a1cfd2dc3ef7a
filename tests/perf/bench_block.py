#!/usr/bin/python3
"""One Transformer block, forward+backward, attn vs PyTorch on the same CPU in one run.

Block as in /work/shared/anchors/torch_lm.py: pre-LN, d=256, 4 heads, ff=1024, GELU, causal,
batch 16 x 128 tokens, no dropout; loss = sum(y * R) with a fixed random R; x requires grad.
The two are timed alternately (ROUNDS rounds) so that background load hits both alike.

Usage: /usr/bin/python3 tests/perf/bench_block.py <path to attn_bench_block> [rounds]
(Debian's python3-torch lives in /usr/bin/python3, not in a pyenv interpreter.)
"""
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(2)
torch.manual_seed(0)
D, H, F, T, B = 256, 4, 1024, 128, 16
ITERS = 20


class Block(nn.Module):
    def __init__(s):
        super().__init__()
        s.ln1 = nn.LayerNorm(D)
        s.attn = nn.MultiheadAttention(D, H, batch_first=True)
        s.ln2 = nn.LayerNorm(D)
        s.mlp = nn.Sequential(nn.Linear(D, F), nn.GELU(approximate="tanh"), nn.Linear(F, D))

    def forward(s, x, mask):
        h = s.ln1(x)
        x = x + s.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + s.mlp(s.ln2(x))


def torch_ms():
    m = Block()
    x = torch.randn(B, T, D, requires_grad=True)
    r = torch.randn(B, T, D)
    mask = torch.triu(torch.full((T, T), float("-inf")), 1)

    def step():
        m.zero_grad(set_to_none=True)
        x.grad = None
        (m(x, mask) * r).sum().backward()

    for _ in range(3):
        step()
    ms = []
    for _ in range(ITERS):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ms)


def attn_ms(binary):
    out = subprocess.run([binary, str(ITERS), "2"], check=True, capture_output=True, text=True).stdout
    return float(out.split()[1])


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    a, p = [], []
    for i in range(rounds):
        a.append(attn_ms(sys.argv[1]))
        p.append(torch_ms())
        print(f"round {i}: attn {a[-1]:.1f} ms/iter  torch {p[-1]:.1f} ms/iter", flush=True)
    am, pm = statistics.median(a), statistics.median(p)
    print(f"attn  {am:.1f} ms/iter (forward+backward, median of {rounds} rounds)")
    print(f"torch {pm:.1f} ms/iter (torch {torch.__version__}, 2 threads)")
    print(f"ratio torch/attn = {pm / am:.2f} (> 1: attn faster)")


if __name__ == "__main__":
    main()
