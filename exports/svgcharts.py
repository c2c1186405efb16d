"""Charts as SVG for the browser, drawn on the server, no script, printable: Likert bars and forest plots.

The bars are :mod:`exports.likertbars`' (the workbook's charts read the same), so a segment is drawn at its
percentage of all who answered and a hidden share is one hatched, labelled segment: nothing is rescaled,
and every bar spans 100% of its n (within the 0.1 rounding of its parts). Each chart is ``role="img"``
named by its ``<title>`` (the question text) and ``<desc>`` (every bar's shares in words); the page puts a
data table beside it. Only presentation attributes are used, never ``style=``: the pages' Content-Security-
Policy allows no inline style.

Every text (question and statement texts, level labels: whoever wrote the instrument chose them) goes in
through :class:`markupsafe.Markup` formatting, which escapes it; the result is Markup, so a template prints
it as it is without turning autoescaping off. Written by hand: a chart library would bring script or inline
style, and this is a few rectangles.

A forest plot (:func:`forest_svg`, rows from :mod:`exports.forest`) puts each outcome's name on the left, its
estimate as a square with its 95% CI as a whisker on one axis shared by every row, a dashed line at 0, the
figures ("−0.79 (−1.27 to −0.32)") on the right, and what is plotted (ANCOVA difference or mean change) below.
"""

from __future__ import annotations

import textwrap

from markupsafe import Markup

from .forest import INK, MINUS, Forest
from .likertbars import HIDDEN_LABEL, OUTLINE, Bar, LikertChart

WIDTH = 520
MARGIN = 8
PLOT = WIDTH - 2 * MARGIN  # a bar at 100% spans the plot width
BAR_HEIGHT = 26
LINE = 16
FONT = 13
WRAP = 66  # characters per label line at FONT in WIDTH
LABEL_MIN = 44  # the narrowest segment that takes its percentage written on it
HATCH_INK = "595959"
SVG_NS = "http://www.w3.org/2000/svg"


def _luminance(hex_rgb: str) -> float:
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_rgb[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def ink_on(hex_rgb: str) -> str:
    """Return black or white, whichever contrasts more with the fill *hex_rgb* (WCAG relative luminance)."""
    lum = _luminance(hex_rgb)
    return "000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "FFFFFF"


def segment_width(pct: float) -> float:
    """Return the width a segment of *pct* percent takes: its share of the plot, never rescaled."""
    return round(PLOT * pct / 100, 2)


def _pct_text(pct: float) -> str:
    return f"{pct:.1f}%"


def _describe(chart: LikertChart) -> str:
    parts = []
    for b in chart.bars:
        shares = [f"{label} {_pct_text(p)}" for label, p in zip(chart.legend, b.pcts, strict=True) if p is not None]
        if b.hidden_share:
            shares.append(f"hidden {_pct_text(b.hidden_share)}")
        parts.append(f"{b.label}: " + (", ".join(shares) if shares else "no answers") + ".")
    return ("100% stacked bars, each of those who answered the statement, from the most negative level to the "
            "most positive. " + " ".join(parts))


def _bar(b: Bar, chart: LikertChart, y: float, hatch: str) -> Markup:
    out = [Markup('<g class="bar" data-n="{}">').format(b.answered)]
    x = float(MARGIN)
    for label, count, pct, colour in zip(chart.legend, b.counts, b.pcts, chart.colours, strict=True):
        if pct is None or pct <= 0:
            continue
        w = segment_width(pct)
        out.append(Markup('<rect class="segment" data-level="{}" data-pct="{}" x="{}" y="{}" width="{}" '
                          'height="{}" fill="#{}" stroke="#{}" stroke-width="0.5"><title>{}: {} ({})</title>'
                          '</rect>').format(label, pct, round(x, 2), y, w, BAR_HEIGHT, colour, OUTLINE, label,
                                            count, _pct_text(pct)))
        if w >= LABEL_MIN:
            out.append(Markup('<text x="{}" y="{}" text-anchor="middle" font-size="12" fill="#{}">{}</text>')
                       .format(round(x + w / 2, 2), y + BAR_HEIGHT / 2 + 4, ink_on(colour), _pct_text(pct)))
        x += w
    if b.hidden_share > 0:
        w = segment_width(b.hidden_share)
        out.append(Markup('<rect class="segment hidden" data-hidden="true" data-pct="{}" x="{}" y="{}" width="{}" '
                          'height="{}" fill="url(#{})" stroke="#{}" stroke-width="0.5"><title>{}: {}</title></rect>')
                   .format(b.hidden_share, round(x, 2), y, w, BAR_HEIGHT, hatch, OUTLINE, HIDDEN_LABEL,
                           _pct_text(b.hidden_share)))
        if w >= LABEL_MIN:
            out.append(Markup('<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#000000" '
                              'stroke="#FFFFFF" stroke-width="3" paint-order="stroke">hidden</text>')
                       .format(round(x + w / 2, 2), y + BAR_HEIGHT / 2 + 4))
    out.append(Markup("</g>"))
    return Markup("").join(out)


def likert_svg(chart: LikertChart, uid: str) -> Markup:
    """Return *chart* as an SVG element; *uid* (letters, digits, '-') keeps its ids unique on the page."""
    title_id, desc_id, hatch = f"{uid}-title", f"{uid}-desc", f"{uid}-hatch"
    body: list[Markup] = []
    y = float(MARGIN)
    for b in chart.bars:
        for line in textwrap.wrap(b.label, WRAP) or [""]:
            y += LINE
            body.append(Markup('<text x="{}" y="{}" font-size="{}" fill="#000000">{}</text>')
                        .format(MARGIN, y, FONT, line))
        y += 4
        body.append(_bar(b, chart, y, hatch))
        y += BAR_HEIGHT + 6
    y += 4
    for tick in (0, 25, 50, 75, 100):
        x = MARGIN + PLOT * tick / 100
        anchor = "start" if tick == 0 else "end" if tick == 100 else "middle"
        body.append(Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#{}" stroke-width="1"/>'
                           '<text x="{}" y="{}" font-size="11" text-anchor="{}" fill="#000000">{}%</text>')
                    .format(x, y - 4, x, y + 2, OUTLINE, x, y + 14, anchor, tick))
    y += 22
    legend = list(zip(chart.legend, chart.colours, strict=True))
    for label, colour in legend:
        body.append(Markup('<rect x="{}" y="{}" width="14" height="14" fill="#{}" stroke="#{}"/>'
                           '<text x="{}" y="{}" font-size="12" fill="#000000">{}</text>')
                    .format(MARGIN, y, colour, OUTLINE, MARGIN + 20, y + 11, label))
        y += 18
    if any(b.hidden_share > 0 for b in chart.bars):
        body.append(Markup('<rect x="{}" y="{}" width="14" height="14" fill="url(#{})" stroke="#{}"/>'
                           '<text x="{}" y="{}" font-size="12" fill="#000000">{}</text>')
                    .format(MARGIN, y, hatch, OUTLINE, MARGIN + 20, y + 11, HIDDEN_LABEL))
        y += 18
    height = round(y + MARGIN)
    head = Markup('<svg xmlns="{}" class="chart" role="img" aria-labelledby="{} {}" viewBox="0 0 {} {}" '
                  'width="{}" height="{}" preserveAspectRatio="xMinYMin meet"><title id="{}">{}</title>'
                  '<desc id="{}">{}</desc><defs><pattern id="{}" patternUnits="userSpaceOnUse" width="6" '
                  'height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#FFFFFF"/>'
                  '<line x1="0" y1="0" x2="0" y2="6" stroke="#{}" stroke-width="2.5"/></pattern></defs>'
                  ).format(SVG_NS, title_id, desc_id, WIDTH, height, WIDTH, height, title_id, chart.title,
                           desc_id, _describe(chart), hatch, HATCH_INK)
    return head + Markup("").join(body) + Markup("</svg>")


FOREST_WIDTH = 640
NAMES = 170  # the outcome names' column, left of the plot
FOREST_PLOT = 280  # the plot's width; the figures' column follows it
NAME_WRAP = 22  # characters per name line at FONT in NAMES
MEASURE_WRAP = 92
ROW = 30
ZERO_INK = "000000"


def forest_x(chart: Forest, value: float) -> float:
    """Return the x of *value* on *chart*'s plot (the axis from :meth:`Forest.axis`, never rescaled per row)."""
    low, high, _ = chart.axis()
    return round(MARGIN + NAMES + FOREST_PLOT * (value - low) / (high - low), 2)


def _number(value: float) -> str:
    return f"{value:g}".replace("-", MINUS)


def forest_svg(chart: Forest, uid: str) -> Markup:
    """Return *chart* as an SVG forest plot: names left, estimates with 95% CI whiskers, figures right, 0 marked."""
    title_id, desc_id = f"{uid}-title", f"{uid}-desc"
    figures_x = MARGIN + NAMES + FOREST_PLOT + 12
    body: list[Markup] = [Markup('<text x="{}" y="{}" font-size="12" font-weight="bold" fill="#000000">Outcome'
                                 '</text><text x="{}" y="{}" font-size="12" font-weight="bold" fill="#000000">'
                                 'Estimate (95% CI)</text>').format(MARGIN, MARGIN + 12, figures_x, MARGIN + 12)]
    top = y = float(MARGIN + 20)
    for row in chart.rows:
        lines = textwrap.wrap(row.outcome, NAME_WRAP) or [""]
        height = max(ROW, len(lines) * LINE + 12)
        mid = round(y + height / 2, 2)
        first_line = mid - (len(lines) - 1) * LINE / 2 + 4
        for i, line in enumerate(lines):
            body.append(Markup('<text x="{}" y="{}" font-size="{}" fill="#000000">{}</text>')
                        .format(MARGIN, round(first_line + i * LINE, 2), FONT, line))
        e = row.estimate
        low, value, high = forest_x(chart, e.low), forest_x(chart, e.value), forest_x(chart, e.high)
        body.append(Markup(
            '<g class="estimate" data-outcome="{}" data-value="{}" data-low="{}" data-high="{}">'
            '<title>{}: {}</title>'
            '<line class="whisker" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#{}" stroke-width="2"/>'
            '<line class="cap" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#{}" stroke-width="2"/>'
            '<line class="cap" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#{}" stroke-width="2"/>'
            '<rect class="point" x="{}" y="{}" width="10" height="10" fill="#{}"/>'
            '<text class="figures" x="{}" y="{}" font-size="{}" fill="#000000">{}</text></g>').format(
            row.outcome, e.value, e.low, e.high, row.outcome, row.figures,
            low, mid, high, mid, INK, low, mid - 5, low, mid + 5, INK, high, mid - 5, high, mid + 5,
            INK, round(value - 5, 2), round(mid - 5, 2), INK, figures_x, round(mid + 4, 2), FONT,
            row.figures))
        y += height
    zero = forest_x(chart, 0.0)
    body.append(Markup('<line class="zero" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#{}" stroke-width="1" '
                       'stroke-dasharray="4 3"/>').format(zero, top - 4, zero, y + 4, ZERO_INK))
    left, right = MARGIN + NAMES, MARGIN + NAMES + FOREST_PLOT
    body.append(Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#{}" stroke-width="1"/>')
                .format(left, y + 4, right, y + 4, OUTLINE))
    for tick in chart.ticks():
        x = forest_x(chart, tick)
        body.append(Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#{}" stroke-width="1"/>'
                           '<text x="{}" y="{}" font-size="11" text-anchor="middle" fill="#000000">{}</text>')
                    .format(x, y + 4, x, y + 9, OUTLINE, x, y + 22, _number(tick)))
    y += 30
    for line in textwrap.wrap(chart.measure, MEASURE_WRAP):
        y += LINE
        body.append(Markup('<text x="{}" y="{}" font-size="12" fill="#000000">{}</text>').format(MARGIN, y, line))
    height = round(y + MARGIN + 4)
    desc = chart.measure + ". " + " ".join(f"{r.outcome}: {r.figures} (n {r.n})." for r in chart.rows)
    head = Markup('<svg xmlns="{}" class="chart forest" role="img" aria-labelledby="{} {}" viewBox="0 0 {} {}" '
                  'width="{}" height="{}" preserveAspectRatio="xMinYMin meet"><title id="{}">{}</title>'
                  '<desc id="{}">{}</desc>').format(SVG_NS, title_id, desc_id, FOREST_WIDTH, height, FOREST_WIDTH,
                                                    height, title_id, chart.title, desc_id, desc)
    return head + Markup("").join(body) + Markup("</svg>")
