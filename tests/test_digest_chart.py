"""The digest chart is a valid PNG of the 12 weeks, drawn offline, with alt text that says what it shows."""

from __future__ import annotations

import io
import socket
import struct

import pytest
from PIL import Image

from govbot.domain.digest import ChartWeek, IsoWeek
from govbot.features.digest.chart import DPI, HEIGHT_INCHES, WIDTH_INCHES, alt_text, render_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def twelve_weeks(*, gaps: bool = False) -> list[ChartWeek]:
    last = IsoWeek(2026, 47)
    weeks = []
    for n in range(11, -1, -1):
        week = last.shifted(-n)
        if gaps and n in (11, 10, 5):
            weeks.append(ChartWeek(week, None, None))
        else:
            weeks.append(ChartWeek(week, 30.0 + n * 2, None if n == 3 else 0.1 * (12 - n)))
    return weeks


def check_png(data: bytes) -> Image.Image:
    assert data[:8] == PNG_SIGNATURE
    length, chunk = struct.unpack(">I4s", data[8:16])
    assert chunk == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (int(WIDTH_INCHES * DPI), int(HEIGHT_INCHES * DPI))
    assert data[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82"
    image = Image.open(io.BytesIO(data))
    image.verify()  # checks every chunk's CRC
    return Image.open(io.BytesIO(data))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the chart must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_chart_is_a_valid_png_of_twelve_weeks(no_network: None) -> None:
    data = render_png(twelve_weeks(), title="payments: velocity vs incidents per feature")
    image = check_png(data)
    assert image.format == "PNG" and image.size == (800, 400)
    # Something was drawn: the image is not one flat colour.
    extrema = image.convert("L").getextrema()
    assert extrema[0] < extrema[1]


def test_chart_draws_weeks_without_figures(no_network: None) -> None:
    check_png(render_png(twelve_weeks(gaps=True), title="payments", unit="issues"))
    check_png(render_png([ChartWeek(IsoWeek(2026, 47), None, None)], title="new team"))


def test_chart_bytes_are_reproducible() -> None:
    weeks = twelve_weeks()
    assert render_png(weeks, title="t") == render_png(weeks, title="t")


def test_alt_text_names_the_weeks_and_both_series() -> None:
    text = alt_text(twelve_weeks(), team="payments")
    assert "2026-W36" in text and "2026-W47" in text
    assert "W47 30" in text and "Incidents per feature went from 0.10 in W36 to 1.20 in W47" in text
    assert alt_text([ChartWeek(IsoWeek(2026, 47), None, None)], team="payments").endswith("no week has figures yet.")
