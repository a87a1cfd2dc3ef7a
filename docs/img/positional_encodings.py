#!/usr/bin/env python3
"""Draws docs/img/positional-encodings.svg for docs/tutorial.md (Python 3 standard library only).

    python3 docs/img/positional_encodings.py > docs/img/positional-encodings.svg

The two tables are computed with the formulas of lib/nn/positional.cpp:
  sinusoidal  PE(pos, 2i) = sin(pos / 10000^(2i/d)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d))
  hyperbolic  PE(i, j)    = 1 / (cos(i / 10000^(j/d)) - sin(i / 10000^(j/d)))
Left panel: column 0 (angle = position) as a function of a continuous position, with the integer
positions a model sees marked; the hyperbolic curve is clipped at +-Y and its poles (cos = sin,
angle = pi/4 + k*pi) drawn dashed. Right panel: for each column j of a d = 64 table, the largest
|PE| over positions 0..511 (log scale): at most 1 for sinusoidal, up to thousands for hyperbolic.
"""
import math
import struct

D = 64  # d_model of the right panel
MAX_LEN = 512  # positions of the right panel
Y = 6.0  # left panel's clip


def f32(x):
    """Rounds to float32, as the library stores its tables."""
    return struct.unpack("f", struct.pack("f", x))[0]


def sinusoidal(pos, j, d):
    angle = pos / 10000.0 ** ((j - j % 2) / d)
    return f32(math.sin(angle) if j % 2 == 0 else math.cos(angle))


def hyperbolic(i, j, d):
    angle = i / 10000.0 ** (j / d)
    return f32(1.0 / (math.cos(angle) - math.sin(angle)))


class Panel:
    """Maps data coordinates to a box of the picture."""

    def __init__(self, x0, y0, w, h, xr, yr, ylog=False):
        self.x0, self.y0, self.w, self.h, self.xr, self.yr, self.ylog = x0, y0, w, h, xr, yr, ylog

    def x(self, v):
        return self.x0 + (v - self.xr[0]) / (self.xr[1] - self.xr[0]) * self.w

    def y(self, v):
        lo, hi = self.yr
        if self.ylog:
            v, lo, hi = math.log10(v), math.log10(lo), math.log10(hi)
        return self.y0 + self.h - (v - lo) / (hi - lo) * self.h


def polyline(points, colour, width=1.5, dash=None):
    d = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<polyline fill="none" stroke="{colour}" stroke-width="{width}"{extra} points="{d}"/>'


def text(x, y, s, anchor="middle", size=11, extra=""):
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>{s}</text>'


def axes(p, xticks, yticks, xlabel, ylabel, title, fmt=str):
    out = [f'<rect x="{p.x0}" y="{p.y0}" width="{p.w}" height="{p.h}" fill="none" stroke="#444"/>']
    for t in xticks:
        out.append(f'<line x1="{p.x(t):.1f}" y1="{p.y0 + p.h}" x2="{p.x(t):.1f}" y2="{p.y0 + p.h + 4}" stroke="#444"/>')
        out.append(text(p.x(t), p.y0 + p.h + 16, fmt(t)))
    for t in yticks:
        out.append(f'<line x1="{p.x0 - 4}" y1="{p.y(t):.1f}" x2="{p.x0}" y2="{p.y(t):.1f}" stroke="#444"/>')
        out.append(f'<line x1="{p.x0}" y1="{p.y(t):.1f}" x2="{p.x0 + p.w}" y2="{p.y(t):.1f}" stroke="#ddd"/>')
        out.append(text(p.x0 - 7, p.y(t) + 4, fmt(t), anchor="end"))
    out.append(text(p.x0 + p.w / 2, p.y0 + p.h + 34, xlabel))
    cx, cy = p.x0 - 38, p.y0 + p.h / 2
    out.append(text(cx, cy, ylabel, extra=f' transform="rotate(-90 {cx:.1f} {cy:.1f})"'))
    out.append(text(p.x0 + p.w / 2, p.y0 - 10, title, size=12, extra=' font-weight="bold"'))
    return out


def left_panel():
    p = Panel(60, 40, 380, 260, (0.0, 20.0), (-Y, Y))
    out = axes(p, range(0, 21, 4), [-6, -4, -2, 0, 2, 4, 6], "position (column 0: angle = position)", "PE",
               "column 0 of each table")
    k = 0
    while math.pi / 4 + k * math.pi <= 20:
        xp = p.x(math.pi / 4 + k * math.pi)
        out.append(f'<line x1="{xp:.1f}" y1="{p.y0}" x2="{xp:.1f}" y2="{p.y0 + p.h}" stroke="#d62728" '
                   f'stroke-width="0.8" stroke-dasharray="3,3"/>')
        k += 1
    n = 600
    xs = [20.0 * s / n for s in range(n + 1)]
    out.append(polyline([(p.x(x), p.y(math.sin(x))) for x in xs], "#1f77b4"))
    # the hyperbolic curve, split at each pole and clipped to the box
    segment = []
    for x in xs:
        v = 1.0 / (math.cos(x) - math.sin(x))
        if abs(v) > Y:
            if segment:
                segment.append((p.x(x), p.y(math.copysign(Y, v))))
                out.append(polyline(segment, "#d62728"))
                segment = []
            continue
        if not segment and x > 0:
            segment.append((p.x(x), p.y(math.copysign(Y, v))))
        segment.append((p.x(x), p.y(v)))
    if segment:
        out.append(polyline(segment, "#d62728"))
    for i in range(21):  # the integer positions a model sees
        out.append(f'<circle cx="{p.x(i):.1f}" cy="{p.y(sinusoidal(i, 0, D)):.1f}" r="2.2" fill="#1f77b4"/>')
        v = hyperbolic(i, 0, D)
        if abs(v) <= Y:
            out.append(f'<circle cx="{p.x(i):.1f}" cy="{p.y(v):.1f}" r="2.2" fill="#d62728"/>')
        else:
            yy = p.y0 + 9 if v > 0 else p.y0 + p.h - 4
            out.append(text(p.x(i), yy, f"{v:.0f}", size=9, extra=' fill="#d62728"'))
    return out


def right_panel():
    sin_max = [max(abs(sinusoidal(i, j, D)) for i in range(MAX_LEN)) for j in range(D)]
    hyp_max = [max(abs(hyperbolic(i, j, D)) for i in range(MAX_LEN)) for j in range(D)]
    top = 10 ** math.ceil(math.log10(max(hyp_max)))
    p = Panel(540, 40, 380, 260, (0, D - 1), (0.01, top), ylog=True)
    yt = [10.0 ** e for e in range(-2, int(math.log10(top)) + 1)]
    out = axes(p, range(0, D, 8), yt, f"column j of a d = {D} table", f"max |PE| over positions 0..{MAX_LEN - 1}",
               "how large each column gets", fmt=lambda t: f"{t:g}")
    out.append(polyline([(p.x(j), p.y(v)) for j, v in enumerate(sin_max)], "#1f77b4"))
    out.append(polyline([(p.x(j), p.y(v)) for j, v in enumerate(hyp_max)], "#d62728"))
    for j, v in enumerate(hyp_max):
        out.append(f'<circle cx="{p.x(j):.1f}" cy="{p.y(v):.1f}" r="1.8" fill="#d62728"/>')
    return out, max(hyp_max)


def main():
    right, worst = right_panel()
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="960" height="380" '
           'viewBox="0 0 960 380" font-family="sans-serif">',
           '<title>sinusoidal vs "hyperbolic" positional encodings</title>',
           '<rect width="960" height="380" fill="white"/>']
    out += left_panel()
    out += right
    out.append(f'<line x1="300" y1="362" x2="330" y2="362" stroke="#1f77b4" stroke-width="2"/>')
    out.append(text(336, 366, "sinusoidal: sin / cos, bounded by 1", anchor="start"))
    out.append(f'<line x1="560" y1="362" x2="590" y2="362" stroke="#d62728" stroke-width="2"/>')
    out.append(text(596, 366, f"hyperbolic: 1/(cos - sin), up to {worst:.0f} (poles dashed)", anchor="start"))
    out.append("</svg>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
