"""report.html and anonymization.html open in headless Chromium without script errors, draw
their plots, need no network.

Chromium is skipped locally when absent but required in CI (the CI environment variable is set
there and Debian's ``chromium`` package is installed).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from synthema.anonymize.files import anonymize_file
from synthema.cohorts.simulate import simulate, write_cohort
from synthema.evaluate.files import evaluate_files
from synthema.schema import format_frame, load_dictionary

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: CI must install Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    d = load_dictionary("aml")
    paths = {}
    for name, seed in (("train", 1), ("holdout", 2), ("syn", 3)):
        paths[name] = folder / f"{name}.csv"
        data = simulate("aml", sites=1, patients=200, seed=seed)[0].data
        format_frame(data, d).to_csv(paths[name], index=False)
    done = evaluate_files(dictionary="aml", real=paths["train"], holdout=paths["holdout"],
                          synthetic=paths["syn"], out=folder / "report")
    return done.html_path


@pytest.fixture(scope="module")
def anonymization_html(tmp_path_factory) -> Path:
    """The report of ``synthema anonymize --mapping`` on a raw (German-style) site export."""
    folder = tmp_path_factory.mktemp("anon")
    write_cohort(simulate("aml", sites=1, patients=400, seed=4), folder, disease="aml", raw=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYNTHEMA_PSEUDONYM_KEY",
                  "7d1f3e0c55a2b94816c0e7a3d9f2b6481c5e0a97f3d26b1e8c4a0f9d7b3e2c61")
        anonymize_file(folder / "raw" / "site_01.csv", policy="aml", out=folder / "anon.csv",
                       report_dir=folder / "report",
                       mapping=folder / "raw" / "site_01.mapping.yaml")
    return folder / "report" / "anonymization.html"


def _chromium(binary: str, html: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr", "--v=0",
         "--window-size=1280,2000", *extra, html.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False)


def _png_pixels(path: Path) -> tuple[int, float]:
    """(distinct colours, standard deviation of grey levels) of a PNG screenshot."""
    try:
        from PIL import Image, ImageStat
    except ImportError:  # no Pillow: read the filtered scanlines instead
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        pos, idat = 8, b""
        while pos < len(data):
            (length,) = struct.unpack(">I", data[pos:pos + 4])
            if data[pos + 4:pos + 8] == b"IDAT":
                idat += data[pos + 8:pos + 8 + length]
            pos += 12 + length
        raw = zlib.decompress(idat)
        return len(set(raw)), sum(b != 0 for b in raw[::97]) / len(raw[::97]) * 255
    image = Image.open(path).convert("RGB")
    small = image.resize((320, 500))
    return len(small.getcolors(320 * 500)), ImageStat.Stat(image.convert("L")).stddev[0]


def test_report_renders_to_a_non_blank_screenshot(chromium, report_html, tmp_path):
    # Setup
    png = tmp_path / "report.png"
    # Run
    res = _chromium(chromium, report_html, tmp_path, f"--screenshot={png}")
    # Assert
    assert png.exists(), res.stderr[-2000:]
    colours, spread = _png_pixels(png)
    assert colours > 50 and spread > 10
    assert "Uncaught" not in res.stderr, res.stderr[-2000:]


def test_report_scripts_run_and_draw_every_plot(chromium, report_html, tmp_path):
    # Run: the DOM after the page's scripts ran
    res = _chromium(chromium, report_html, tmp_path, "--virtual-time-budget=10000", "--dump-dom")
    dom = res.stdout
    # Assert
    assert "Uncaught" not in res.stderr, res.stderr[-2000:]
    assert '<div id="js-errors"></div>' in dom
    plots = dom.count('class="plot')
    assert plots >= 10 and dom.count('class="main-svg"') >= plots


def test_anonymization_report_renders_to_a_non_blank_screenshot(chromium, anonymization_html,
                                                                tmp_path):
    # Setup
    png = tmp_path / "anonymization.png"
    # Run
    res = _chromium(chromium, anonymization_html, tmp_path, f"--screenshot={png}")
    # Assert
    assert png.exists(), res.stderr[-2000:]
    colours, spread = _png_pixels(png)
    assert colours > 50 and spread > 10
    assert "Uncaught" not in res.stderr, res.stderr[-2000:]


def test_anonymization_report_scripts_run_and_draw_every_plot(chromium, anonymization_html,
                                                              tmp_path):
    # Run: the DOM after the page's scripts ran
    res = _chromium(chromium, anonymization_html, tmp_path, "--virtual-time-budget=10000",
                    "--dump-dom")
    dom = res.stdout
    # Assert: no script error, the scorecard's badges, both plots drawn by plotly
    assert "Uncaught" not in res.stderr, res.stderr[-2000:]
    assert '<div id="js-errors"></div>' in dom
    assert '<section id="anonymization">' in dom and '<span class="badge pass">' in dom
    for fig in ("risk-fig", "utility-fig"):
        assert f'<div class="plot js-plotly-plot" id="{fig}">' in dom
    assert dom.count('class="main-svg"') >= 2
