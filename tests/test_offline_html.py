"""Exported report pages stand alone: nothing from a CDN, math rendered without scripts."""

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from retention.reports.publish import export_html

TEACHING = Path(__file__).parents[1] / "notebooks" / "01_retention_formulas.ipynb"


class _Refs(HTMLParser):
    """Collects the URLs a page loads (src of any tag, href of <link>)."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "src" or (name == "href" and tag == "link"):
                self.loaded.append(value or "")


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    return export_html(TEACHING, tmp_path_factory.mktemp("html") / "formulas.html")


def test_page_loads_nothing_from_the_network(page):
    refs = _Refs()
    refs.feed(page.read_text(encoding="utf-8"))
    remote = [u for u in refs.loaded if re.match(r"(?i)(https?:)?//", u)]
    assert remote == []
    assert "<script src" not in page.read_text(encoding="utf-8")


def test_math_is_mathml_in_the_page(page):
    text = page.read_text(encoding="utf-8")
    assert text.count("<math") >= 20  # the notebook's 21 formulas ($$ and $)
    assert "$$" not in text and "\\frac" not in text


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_math_renders_offline_in_a_browser(page, tmp_path):
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
         f"--user-data-dir={tmp_path}", "--virtual-time-budget=3000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    body = re.sub(r"<style.*?</style>|<[^>]+>", " ", dom, flags=re.S)
    assert "<mfrac" in dom
    assert "$$" not in body and "\\frac" not in body and "\\text" not in body
