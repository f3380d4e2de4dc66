"""Charts drawn on the server as inline SVG: readable without JavaScript, a few kilobytes each,
no image requests on a slow connection. Labels are escaped (regency and library names come from
content files)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

_BAR = 18
_GAP = 6
_LABEL_WIDTH = 175
_WIDTH = 420
_COLOURS = ("#2b6cb0", "#38a169")


def bars(title: str, items: Sequence[tuple[str, int]], number: object = str) -> Markup:
    """Horizontal bars, one per (label, value); long names fit on the left."""
    fmt = number if callable(number) else str
    top = max((v for _, v in items), default=0) or 1
    span = _WIDTH - _LABEL_WIDTH - 60
    height = len(items) * (_BAR + _GAP) + _GAP
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {_WIDTH} {height}" '
        f'width="100%" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for index, (label, value) in enumerate(items):
        y = _GAP + index * (_BAR + _GAP)
        width = round(span * value / top, 1)
        parts.append(
            f'<text x="{_LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{y}" width="{width}" height="{_BAR}" '
            f'fill="{_COLOURS[0]}"/>'
            f'<text x="{_LABEL_WIDTH + width + 4}" y="{y + 13}">{escape(fmt(value))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    number: object = str,
) -> Markup:
    """Grouped vertical columns: one group per label (a month), one column per series."""
    fmt = number if callable(number) else str
    top = max((v for _, values in series for v in values), default=0) or 1
    height, bottom, left = 220, 40, 10
    group = (_WIDTH - left) / max(len(labels), 1)
    column = max((group - 8) / max(len(series), 1), 2)
    plot = height - bottom - 20
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {_WIDTH} {height}" '
        f'width="100%" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for index, label in enumerate(labels):
        x0 = left + index * group
        for number_, (_name, values) in enumerate(series):
            value = values[index]
            h = round(plot * value / top, 1)
            x = round(x0 + number_ * column, 1)
            parts.append(
                f'<rect x="{x}" y="{height - bottom - h}" width="{round(column - 1, 1)}" '
                f'height="{h}" fill="{_COLOURS[number_ % len(_COLOURS)]}">'
                f"<title>{escape(_name)}: {escape(fmt(value))}</title></rect>"
            )
        parts.append(
            f'<text x="{round(x0 + group / 2, 1)}" y="{height - bottom + 14}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    for number_, (name, _values) in enumerate(series):
        x = left + number_ * 110
        parts.append(
            f'<rect x="{x}" y="{height - 16}" width="12" height="12" '
            f'fill="{_COLOURS[number_ % len(_COLOURS)]}"/>'
            f'<text x="{x + 16}" y="{height - 6}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
