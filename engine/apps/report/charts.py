"""The report's charts drawn with matplotlib (Agg: no display), as SVG for the HTML page
and PNG for the Word document. matplotlib is imported here only, when a chart is drawn.

One palette: the RAG and risk-level colours the figures give, else the series colours
below; every bar or point carries its value as text, and the axes and legend name what
the colours mean, so a chart printed in grey still reads."""

from __future__ import annotations

import io
import re
from typing import Any

from engine.apps.report.figures import Chart

PALETTE = ("#1d70b8", "#f47738", "#00703c", "#912b88", "#d4351c", "#505a5f", "#28a197",
           "#b58840", "#5694ca", "#003078")
INK = "#0b0c0c"


def _figure(chart: Chart) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    many, k = len(chart.categories), max(len(chart.series), 1)
    if chart.kind == "bars" and k > 1:  # a group of bars per category
        fig = Figure(figsize=(7.0, many * (0.12 * k + 0.2) + 0.8))
    elif chart.kind == "bars":
        fig = Figure(figsize=(7.0, 0.45 * many + 0.9))
    else:
        fig = Figure(figsize=(7.0, 3.6))
    ax = fig.add_subplot()
    if chart.kind == "bars" and k > 1:  # long category words: the title from the left edge
        fig.suptitle(chart.title, x=0.01, ha="left", fontsize=11, color=INK,
                     fontweight="bold")
    else:
        ax.set_title(chart.title, loc="left", fontsize=11, color=INK, fontweight="bold")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=INK, labelsize=8)
    if chart.kind == "bars":
        _bars(ax, chart)
    else:
        _columns(ax, chart)
    fig.tight_layout()
    return fig


def _bars(ax: Any, chart: Chart) -> None:
    if len(chart.series) > 1:
        _grouped_bars(ax, chart)
        return
    values = chart.series[0][1] if chart.series else ()
    colours = list(chart.colours) or [PALETTE[0]] * len(values)
    y = list(range(len(values)))[::-1]
    bars = ax.barh(y, values, color=colours, edgecolor=INK, linewidth=0.5)
    ax.set_yticks(y, labels=list(chart.categories))
    ax.bar_label(bars, labels=[_num(v) for v in values], padding=3, fontsize=8)
    ax.set_xlim(0, max([*values, 1]) * 1.15)
    ax.xaxis.set_visible(False)
    ax.spines["bottom"].set_visible(False)


def _grouped_bars(ax: Any, chart: Chart) -> None:
    """Horizontal bars, a group per category (its words read across, however long) and a
    bar per series, the first on top; a zero's bar carries no label."""
    n, k = len(chart.categories), len(chart.series)
    colours = list(chart.colours) or list(PALETTE)
    height = 0.8 / k
    ys = list(range(n))[::-1]
    top = 1.0
    for i, (name, values) in enumerate(chart.series):
        at = [y + 0.4 - height * (i + 0.5) for y in ys]
        bars = ax.barh(at, values, height, color=colours[i % len(colours)], edgecolor=INK,
                       linewidth=0.4, label=name)
        ax.bar_label(bars, labels=[_num(v) if v else "" for v in values], padding=2,
                     fontsize=7)
        top = max(top, *values)
    ax.set_yticks(ys, labels=list(chart.categories))
    ax.set_xlim(0, top * 1.12)
    ax.xaxis.set_visible(False)
    ax.spines["bottom"].set_visible(False)
    ax.legend(fontsize=8, frameon=False, loc="lower right")


def _columns(ax: Any, chart: Chart) -> None:
    n, k = len(chart.categories), max(len(chart.series), 1)
    colours = list(chart.colours) or list(PALETTE)
    xs = list(range(n))
    width = 0.8 if chart.stacked else 0.8 / k
    base = [0.0] * n
    for i, (name, values) in enumerate(chart.series):
        colour = colours[i % len(colours)]
        if chart.kind == "line":
            ax.plot(xs, values, marker="o", color=colour, label=name)
            continue
        at = xs if chart.stacked else [x - 0.4 + width * (i + 0.5) for x in xs]
        bars = ax.bar(at, values, width, bottom=base if chart.stacked else None,
                      color=colour, edgecolor=INK, linewidth=0.5, label=name)
        if not chart.stacked:
            ax.bar_label(bars, labels=[_num(v) if v else "" for v in values], fontsize=7,
                         padding=1)
        if chart.stacked:
            base = [b + v for b, v in zip(base, values, strict=True)]
    if chart.stacked:
        for x, total in zip(xs, base, strict=True):
            ax.text(x, total, _num(total), ha="center", va="bottom", fontsize=8)
    top = max(base + [v for _, vs in chart.series for v in vs] + [1])
    ax.set_ylim(0, top * 1.18)
    ax.set_xticks(xs, labels=list(chart.categories), rotation=30 if n > 6 else 0,
                  ha="right" if n > 6 else "center")
    ax.yaxis.get_major_locator().set_params(integer=True)
    if len(chart.series) > 1:
        ax.legend(fontsize=8, frameon=False, ncols=min(len(chart.series), 4),
                  loc="upper left")


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


def svg(chart: Chart) -> str:
    """The chart as an inline SVG element (no XML header; text kept as text)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "report"}):
        _figure(chart).savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    # A title for screen readers; ids made unique per chart (several share one page).
    tag = re.sub(r"[^a-z0-9]+", "-", chart.title.lower()).strip("-")
    text = re.sub(r'id="([^"]+)"', rf'id="{tag}-\1"', text)
    text = re.sub(r'url\(#([^)]+)\)', rf'url(#{tag}-\1)', text)
    text = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#{tag}-\1"', text)
    text = text.replace("<svg ", f'<svg role="img" aria-label="{_escape(chart.title)}" ', 1)
    return text


def png(chart: Chart, dpi: int = 150) -> bytes:
    buffer = io.BytesIO()
    _figure(chart).savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))
