"""The charts' PNGs: the pixels Agg drew, losslessly, at the figure's dpi, the same bytes twice."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from bot.charts.empty import plot_empty
from bot.charts.style import Header, to_png
from tests.conftest import NOW


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_the_png_says_its_dpi() -> None:
    header = Header(chart="Cycle time", team="payments", window="last 90 days", as_of=NOW.date())
    for dpi in (40, 100):
        figure = plot_empty(header, "Nothing finished yet.", "Try a longer window.", dpi=dpi).figure
        horizontal, vertical = decoded(to_png(figure)).info["dpi"]
        assert round(horizontal) == round(vertical) == dpi


def test_a_chart_encodes_exactly_what_agg_drew_and_the_same_bytes_twice() -> None:
    header = Header(chart="Cycle time", team="payments", window="last 90 days", as_of=NOW.date())
    figure = plot_empty(header, "Nothing finished yet.", "Try a longer window.", dpi=40).figure
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    drawn = np.asarray(canvas.buffer_rgba()).copy()
    png = to_png(figure)
    image = decoded(png)
    assert image.size == (480, 270)
    assert np.array_equal(np.asarray(image.convert("RGBA")), drawn)
    assert to_png(figure) == png
