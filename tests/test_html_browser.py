"""The HTML report in a real browser: highlights, details, filters, and XSS staying inert.

Runs Debian's Chromium (``/usr/bin/chromium``) through Playwright's Python API; no
browser is downloaded. Skipped only when chromium or playwright is missing (CI installs
both). Saves ``reports/html-report.png`` on each run; ``reports/screenshot.png`` (the
README's picture) when it is missing or with ``UPDATE_SCREENSHOT=1``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from mtaudit.cli import main

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPORTS = ROOT / "reports"


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    """The bundled corpus (with corpora/xss-attempt.html) as an HTML report, in a browser."""
    out = tmp_path_factory.mktemp("html") / "report.html"
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main(["scan", "corpora", "-f", "html", "-o", str(out), "--quiet"])
    finally:
        os.chdir(cwd)
    assert code in (0, 1) and out.exists()
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs: list[str] = []
        errors: list[str] = []
        requests: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(Path(out).as_uri())
        page.wait_for_selector("html[data-ready]")
        yield page, dialogs, errors, requests, out
        browser.close()


def _doc(page, doc_id: str):
    """The document card whose heading names ``doc_id``."""
    return page.locator("article.doc").filter(has=page.locator("h2", has_text=doc_id)).first


def test_report_renders_highlights_for_known_findings(report_page):
    page, _, errors, requests, out = report_page
    assert not errors, errors
    # Nothing but the file itself was fetched: the report is self-contained.
    assert requests == [Path(out).as_uri()]
    housing = _doc(page, "mt-housing-law.html")
    assert housing.locator("mark.hl[data-code=MT501]", has_text="Source link").count() == 1
    xss = _doc(page, "xss-attempt.html")
    assert xss.locator("mark.hl[data-code=MT401]").count() >= 1
    assert xss.locator("mark.hl.cat-punctuation").count() >= 1
    # The index lists documents by probability, highest first.
    probs = page.locator("table.index tbody tr td:nth-child(4)").all_inner_texts()
    values = [float(p.strip().rstrip("%")) for p in probs]
    assert values == sorted(values, reverse=True)


def test_click_and_keyboard_show_the_suggestion(report_page):
    page, *_ = report_page
    xss = _doc(page, "xss-attempt.html")
    mark = xss.locator("mark.hl[data-code=MT401]").first
    mark.click()
    detail = xss.locator(".detail")
    assert "MT401" in detail.inner_text()
    assert "Suggestion:" in detail.inner_text() and "replace" in detail.inner_text()
    # The finding links to its hunk in the side-by-side diff.
    link = detail.locator("a.tohunk")
    target = link.get_attribute("href")
    link.click()
    assert page.evaluate("document.activeElement.id") == target[1:]
    # Keyboard: focus the boilerplate highlight and press Enter.
    housing = _doc(page, "mt-housing-law.html")
    src = housing.locator("mark.hl[data-code=MT501]")
    src.focus()
    assert src.evaluate("e => e.getAttribute('tabindex')") == "0"
    assert "MT501" in (src.get_attribute("aria-label") or "")
    page.keyboard.press("Enter")
    text = housing.locator(".detail").inner_text()
    assert "MT501" in text and "delete" in text


def test_category_filter_hides_that_category(report_page):
    page, *_ = report_page
    before = page.locator("mark.hl.cat-boilerplate").count()
    punct = page.locator("mark.hl.cat-punctuation").count()
    assert before > 0 and punct > 0
    page.locator("input[data-filter=category][value=boilerplate]").uncheck()
    assert page.locator("mark.hl.cat-boilerplate").count() == 0
    assert page.locator("mark.hl.cat-punctuation").count() == punct
    page.locator("input[data-filter=severity][value=warning]").uncheck()
    assert page.locator("mark.hl.sev-warning").count() == 0
    page.locator("input[data-filter=severity][value=warning]").check()
    page.locator("input[data-filter=category][value=boilerplate]").check()
    assert page.locator("mark.hl.cat-boilerplate").count() == before


def test_xss_document_stays_inert(report_page):
    page, dialogs, errors, *_ = report_page
    xss = _doc(page, "xss-attempt.html")
    xss.scroll_into_view_if_needed()
    for m in xss.locator("mark.hl").all():  # activate everything in that document
        m.click()
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.evaluate("window.__pwned === undefined && window.__pageScriptRan === undefined")
    # The payloads are on the page as text...
    text = xss.locator(".text").inner_text()
    for payload in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</textarea>"):
        assert payload in text
    assert "javascript:alert(document.cookie)" in text
    # ...and not as elements: only the report's two scripts, no images, no handlers.
    assert page.locator("script").count() == 2
    assert page.locator("img, svg, iframe, object, embed, textarea").count() == 0
    assert (
        page.evaluate(
            "[...document.querySelectorAll('*')].filter(e => [...e.attributes]"
            ".some(a => a.name.startsWith('on'))).length"
        )
        == 0
    )
    assert page.locator("a[href^='javascript']").count() == 0
    assert not errors


def test_screenshots(report_page):
    page, *_ = report_page
    REPORTS.mkdir(exist_ok=True)
    housing = _doc(page, "mt-housing-law.html")
    mark = housing.locator("mark.hl.cat-idiom").first
    if mark.count() == 0:
        mark = housing.locator("mark.hl").first
    mark.scroll_into_view_if_needed()
    mark.click()
    housing.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(REPORTS / "html-report.png"))
    assert (REPORTS / "html-report.png").stat().st_size > 10_000
    # The README's committed picture is only rewritten on request, so test runs leave the
    # work tree clean.
    readme_shot = REPORTS / "screenshot.png"
    if not readme_shot.exists() or os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(REPORTS / "html-report.png", readme_shot)


def test_bidi_overrides_are_shown_not_obeyed(report_page, tmp_path):
    """An RLO in a file name (the id) or the text must not reverse what the page shows."""
    story = tmp_path / "invoice\u202etxt.exe"
    story.write_text("The minister said\u202e the talks failed , ”he said.\n", encoding="utf-8")
    out = tmp_path / "report.html"
    assert main(["scan", str(story), "-f", "html", "-o", str(out)]) in (0, 1)
    page = report_page[0].context.browser.new_page()  # one Playwright per module
    try:
        page.goto(out.as_uri())
        page.wait_for_selector("html[data-ready]")
        heading = page.locator("article.doc h2").inner_text()
        text = page.locator("article.doc .text").inner_text()
        index = page.locator("table.index .doclink").inner_text()
        bidi = page.evaluate(
            "[getComputedStyle(document.querySelector('article.doc h2')).unicodeBidi,"
            " getComputedStyle(document.querySelector('article.doc .text')).unicodeBidi]"
        )
    finally:
        page.close()
    for shown in (heading, text, index):
        assert "\u202e" not in shown
    assert "invoice\\u202etxt.exe" in heading and "invoice\\u202etxt.exe" in index
    assert "said\\u202e the talks" in text
    assert bidi == ["isolate", "plaintext"]


def test_finding_numbers_sit_on_the_first_line_and_are_not_clipped(report_page, tmp_path):
    """A wrapped item's number stays on its first line; two-digit numbers are whole."""
    story = tmp_path / "many.txt"
    story.write_text(
        "\n\n".join(
            f"Talks number {i} failed again , ”the union said on Tuesday." for i in range(12)
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "report.html"
    assert main(["scan", str(story), "-f", "html", "-o", str(out), "--mt", "off"]) in (0, 1)
    page = report_page[0].context.browser.new_page(viewport={"width": 700, "height": 900})
    try:
        page.goto(out.as_uri())
        page.wait_for_selector("html[data-ready]")
        boxes = page.evaluate(
            """() => Array.from(document.querySelectorAll('ol.findings li')).map(li => {
                 const num = li.querySelector('.num'), btn = li.querySelector('button.f');
                 const range = document.createRange();
                 range.selectNodeContents(btn);
                 const lines = Array.from(range.getClientRects());
                 const n = num.getBoundingClientRect(), list = li.parentNode.getBoundingClientRect();
                 return {text: num.textContent, numTop: n.top, numBottom: n.bottom,
                         numLeft: n.left, listLeft: list.left,
                         clipped: num.scrollWidth > num.clientWidth,
                         firstTop: lines[0].top, firstBottom: lines[0].bottom,
                         lastBottom: lines[lines.length - 1].bottom};
               })"""
        )
    finally:
        page.close()
    assert len(boxes) >= 24  # MT401 and MT403 in each of 12 paragraphs
    assert any(b["lastBottom"] - b["firstBottom"] > 5 for b in boxes), "no item wrapped"
    for b in boxes:
        # The number's box overlaps the first line of its item, not a later one.
        assert b["numTop"] < b["firstBottom"] and b["numBottom"] > b["firstTop"], b
        assert not b["clipped"] and b["numLeft"] >= b["listLeft"] - 0.5, b
    assert [b["text"] for b in boxes][9:12] == ["10.", "11.", "12."]
