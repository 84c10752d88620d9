"""The report in a real browser (headless Chromium): it renders, and note markup never runs.

Chromium comes from Debian's ``chromium`` package (``.ci/run`` installs it); without it these
tests are skipped.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.pipeline.report.test_render import render_fixture

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _chromium(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_browser_note_markup_is_shown_as_text_and_never_runs(tmp_path: Path):
    page = render_fixture(tmp_path / "report.html")
    dom = _chromium(tmp_path, "--virtual-time-budget=2000", "--dump-dom", page.as_uri()).stdout
    assert "<title>Alliance supervision report</title>" in dom
    assert "PWNED" not in dom.split("</title>")[0]  # the title was not rewritten
    assert 'id="pwned"' not in dom  # the onerror handler never ran
    assert "&lt;script&gt;document.title=" in dom  # the markup is visible as text


def test_browser_screenshot_renders_the_report(tmp_path: Path):
    page = render_fixture(tmp_path / "report.html")
    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 30_000  # a blank page compresses to a few kilobytes


def test_browser_shows_the_approach_fit_section(tmp_path: Path):
    from tests.pipeline.report.test_render import render_fit_fixture

    page = render_fit_fixture(tmp_path / "report.html")
    dom = _chromium(tmp_path, "--virtual-time-budget=2000", "--dump-dom", page.as_uri()).stdout
    assert "Way of working and alliance" in dom
    assert "higher when sessions were more structured" in dom
    assert 'aria-label="overall alliance estimate against session structure"' in dom
    shot = tmp_path / "fit.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,1800", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
