"""Charts drawn server-side by pygal and served as their own SVG documents.

Pages show them with ``<img src=… alt=…>`` beside a table of the same figures (the accessible
alternative). pygal puts its styles inline in the SVG and a config ``<script>`` that never runs:
an SVG loaded as an image runs no script, and its own Content-Security-Policy allows inline
style and nothing else. Money stays integer cents; the axis and labels format it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pygal
from flask import Response
from pygal.style import Style

from ledger.money import format_cents

SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"

# Bootstrap's darker shades: at least 4.5:1 against white, and told apart by the table too.
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#212529",
    foreground_strong="#000000",
    foreground_subtle="#6c757d",
    opacity="1",
    opacity_hover="1",
    colors=("#0a58ca", "#146c43", "#997404", "#b02a37", "#6f42c1", "#495057", "#087990"),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
    title_font_size=18,
    label_font_size=13,
    major_label_font_size=13,
    value_font_size=13,
    value_label_font_size=13,
    legend_font_size=14,
)


def _money(value: float | None) -> str:
    return format_cents(int(value or 0))


def _percent(value: float | None) -> str:
    return f"{value or 0:.0f}%"


def _base(title: str, **options: object) -> pygal.Config:
    config = pygal.Config()
    config.js = []  # no script from anywhere: the chart is a picture
    config.style = STYLE
    config.title = title
    config.width = 800
    config.height = 420
    config.print_values = True
    config.disable_xml_declaration = False
    config.no_data_text = "Nothing yet this year"
    for name, value in options.items():
        setattr(config, name, value)
    return config


def pool_use_chart(
    title: str, *, elapsed_percent: float, spent_percent: float, committed_percent: float
) -> bytes:
    """Three bars on one 0-100% scale: how far the year is, and how far the money is."""
    chart = pygal.HorizontalBar(_base(title, value_formatter=_percent, range=(0, 100), height=300))
    chart.add("Financial year elapsed", [round(elapsed_percent, 1)])
    chart.add("Funds spent", [round(spent_percent, 1)])
    chart.add("Spent or committed", [round(committed_percent, 1)])
    return bytes(chart.render())


def money_bars(title: str, rows: Sequence[tuple[str, int]], *, series: str) -> bytes:
    """One horizontal bar per label, in cents, labelled in dollars."""
    height = max(260, 60 + 44 * len(rows))
    chart = pygal.HorizontalBar(
        _base(title, value_formatter=_money, show_legend=False, height=height)
    )
    chart.x_labels = [label for label, _ in rows]
    if rows:
        chart.add(series, [cents for _, cents in rows])
    return bytes(chart.render())


def svg_response(svg: bytes) -> Response:
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    response.headers["Cache-Control"] = "private, no-store"
    return response
