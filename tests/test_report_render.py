"""The demo's HTML report renders in a real browser, charts visible, with no network.

Headless Chromium (Debian's ``chromium`` package; CI installs it) loads the report from a file
and takes a screenshot; the picture must not be blank and must show the charts' bars, in their
colour, in quantity. Without Chromium the test is skipped locally and fails under CI.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from jukistore.demo import Demo

BAR = np.array([0x2F, 0x6D, 0xB5])  # the bars' fill colour in jukistore.demo


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("headless Chromium is required under CI (apt-get install chromium)")
    pytest.skip("no Chromium on this machine")


def _screenshot(html: Path, png: Path, width: int, height: int) -> np.ndarray:
    from PIL import Image

    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--disable-extensions", f"--user-data-dir={png.parent / 'profile'}",
           f"--window-size={width},{height}", f"--screenshot={png}", html.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert png.exists(), f"no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return np.asarray(Image.open(png).convert("RGB"), dtype=np.int16)


def test_report_renders_with_charts(tmp_path: Path) -> None:
    Demo(residents=2000, seed=3, directory=tmp_path / "demo", out=io.StringIO()).run()
    report = tmp_path / "demo" / "report.html"
    img = _screenshot(report, tmp_path / "shot.png", 1000, 3000)
    assert img.shape[0] >= 1000 and img.shape[1] >= 800
    not_white = (img < 235).any(axis=2)
    bars = (np.abs(img - BAR) <= 12).all(axis=2)
    # Not blank: text and charts cover a visible share of the page.
    assert not_white.mean() > 0.01, f"page nearly blank: {not_white.mean():.4f} of pixels drawn"
    # The charts are drawn: many bar-coloured pixels, spread over several chart rows.
    rows_with_bars = np.flatnonzero(bars.any(axis=1))
    assert bars.sum() > 5_000, f"only {int(bars.sum())} bar pixels"
    assert len(rows_with_bars) > 150, f"bars on only {len(rows_with_bars)} pixel rows"


def test_blank_page_is_told_apart(tmp_path: Path) -> None:
    """The checks above can fail: an empty page and a page without charts do not pass them."""
    blank = tmp_path / "blank.html"
    blank.write_text("<!doctype html><html><body></body></html>", encoding="utf-8")
    img = _screenshot(blank, tmp_path / "blank.png", 800, 600)
    assert (img < 235).any(axis=2).mean() < 0.001
    assert (np.abs(img - BAR) <= 12).all(axis=2).sum() == 0
