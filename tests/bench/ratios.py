#!/usr/bin/env python3
"""ratios.py RATIOS.tsv OUT.svg: the ratios of one `make bench` run as a bar chart.

RATIOS.tsv has one ratio a line, as the bench scripts' `record` (lib.sh) writes them:
LABEL, VALUE, and optionally TARGET and KIND ("max": VALUE should stay at or under
TARGET; "min": at or over it), tab-separated. Each ratio is a bar from 1× on a log
scale (its label says what is divided by what), green when its target is met, red when
it is not, grey when it has none; its target is a black tick. Python's standard library
only: the SVG is written by hand.
"""

import math
import sys
from xml.sax.saxutils import escape

LABEL_W, BAR_W, ROW_H, TOP, RIGHT = 380, 420, 26, 44, 70
LO, HI = 1 / 8, 64  # the scale's ends; bars beyond them are clipped, their value still shown


def x_of(value):
    value = min(max(value, LO), HI)
    return LABEL_W + BAR_W * (math.log2(value) - math.log2(LO)) / (math.log2(HI) - math.log2(LO))


def read(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 2:
            continue
        label, value, target, kind = (fields + ["", ""])[:4]
        try:
            value = float(value)
        except ValueError:
            continue  # a ratio that could not be computed ("–")
        rows.append((label, value, float(target) if target else None, kind))
    return rows


def colour(value, target, kind):
    if target is None:
        return "#9e9e9e"
    met = value <= target if kind == "max" else value >= target
    return "#4caf50" if met else "#e53935"


def svg(rows):
    height = TOP + ROW_H * len(rows) + 30
    width = LABEL_W + BAR_W + RIGHT
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="18" font-size="14" font-weight="bold">skiff: ratios measured in one '
           f'`make bench` run (log scale)</text>',
           '<text x="10" y="34" fill="#555">green: target met · red: missed · grey: no target '
           '· black tick: the target</text>']
    for tick in (0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64):
        x = x_of(tick)
        out.append(f'<line x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{height - 26}" '
                   f'stroke="{"#333" if tick == 1 else "#ddd"}"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 12}" text-anchor="middle" '
                   f'fill="#555">{tick:g}×</text>')
    for i, (label, value, target, kind) in enumerate(rows):
        y = TOP + i * ROW_H
        start, end = sorted((x_of(1), x_of(value)))
        out.append(f'<text x="{LABEL_W - 8}" y="{y + 16}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{start:.1f}" y="{y + 5}" width="{max(end - start, 1):.1f}" '
                   f'height="{ROW_H - 10}" fill="{colour(value, target, kind)}"/>')
        if target is not None:
            x = x_of(target)
            out.append(f'<line x1="{x:.1f}" y1="{y + 2}" x2="{x:.1f}" y2="{y + ROW_H - 2}" '
                       f'stroke="black" stroke-width="2"/>')
        out.append(f'<text x="{max(x_of(value), x_of(1)) + 6:.1f}" y="{y + 16}">{value:.2f}×</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: ratios.py RATIOS.tsv OUT.svg")
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(svg(read(sys.argv[1])))


if __name__ == "__main__":
    main()
