"""Likert charts as SVG for the browser: 100% stacked bars drawn on the server, no script, printable.

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
"""

from __future__ import annotations

import textwrap

from markupsafe import Markup

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
