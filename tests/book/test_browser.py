"""Open every built page of the book in headless Chromium, network off; check what a reader sees.

Per page (`page_problems`):

1. math is rendered: every Sphinx math element (`span.math`, `div.math`) holds MathJax's output
   (`mjx-container`) once `MathJax.startup.promise` has settled, MathJax reported no TeX error
   (`mjx-merror`), and no raw `\\(`, `\\[` or `$$` is left in the text outside code. MathJax is
   bundled into `_static/mathjax/` by sphinx-mathjax-offline, so this holds offline.
2. every `<img>` loaded (`complete && naturalWidth > 0`).
3. no horizontal scrollbar in the text column: the article (`article.bd-article` in
   sphinx-book-theme 1.3) is no wider than its box, and no visible descendant with
   `overflow-x: auto|scroll` scrolls sideways (collapsed/hidden elements do not count), at a
   1280x800 viewport.
4. no machine path (`/work/...`, `/tmp/...`, `/root/...`, `/home/...`) in the page text. Code the
   book shows on purpose (code-cell inputs, code blocks in the prose such as the commands in
   `reproducing.md`) is exempt; notebook outputs (`.cell_output`) are not.
5. no JavaScript error was thrown while the page loaded (a script declared twice is one:
   `book/_ext/unique_scripts.py`).

Every request to a non-`file://` URL is aborted and counted; the count is reported only when a
check fails. The page tests need `_build/html` (`make book`), so under `make test`, which runs
before `make book`, they skip; CI runs this file again after the book stage with
MRVAE_REQUIRE_BROWSER=1, which turns every missing prerequisite into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

try:
    from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None

REPO_ROOT = Path(__file__).resolve().parents[2]
# MRVAE_BOOK_HTML points the test at another build (default: the one `make book` writes).
HTML_DIR = Path(os.environ.get("MRVAE_BOOK_HTML") or REPO_ROOT / "_build" / "html")
SKIPPED_PAGES = {"genindex.html", "search.html"}
SKIPPED_DIRS = {"_static", "_sources"}
VIEWPORT = {"width": 1280, "height": 800}
MATHJAX_TIMEOUT_MS = 15_000
IMAGE_TIMEOUT_MS = 10_000
REQUIRE_ENV = "MRVAE_REQUIRE_BROWSER"

# The same four roots as tests/test_nbval_harness.py, here in running text: not preceded by a
# word character, '.', ':', '/', '~' or '-', so URLs and relative paths (`a/home/b`) don't match.
MACHINE_PATH = re.compile(r"(?<![\w.:/~-])/(?:tmp|work|root|home)/[A-Za-z0-9_.-]+")
RAW_MATH = re.compile(r"\\\(|\\\[|\$\$")
META_REFRESH = re.compile(r"<meta[^>]+http-equiv=[\"']?refresh", re.IGNORECASE)


def _missing(message: str) -> None:
    """Skip, or fail when MRVAE_REQUIRE_BROWSER=1 (CI's browser stage)."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} ({REQUIRE_ENV}=1 makes this a failure)", pytrace=False)
    pytest.skip(message)


def built_pages(html_dir: Path = HTML_DIR) -> list[str]:
    """Paths, relative to `html_dir`, of the book's pages."""
    if not html_dir.is_dir():
        return []
    return sorted(
        p.relative_to(html_dir).as_posix()
        for p in html_dir.rglob("*.html")
        if p.name not in SKIPPED_PAGES
        and not SKIPPED_DIRS & set(p.relative_to(html_dir).parts[:-1])
    )


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


# --------------------------------------------------------------------------- in-page scripts

# Settles MathJax (if the page loads it) and the images; returns what could not settle.
_SETTLE_JS = """
async ([mathjaxMs, imageMs]) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const within = (promise, ms) =>
    Promise.race([promise.then(() => true, () => true), sleep(ms).then(() => false)]);
  const notes = [];
  if (window.MathJax) {
    // Until tex-chtml.js has run, window.MathJax is only the configuration object.
    let waited = 0;
    while (!(window.MathJax.startup && window.MathJax.startup.promise) && waited < mathjaxMs) {
      await sleep(50);
      waited += 50;
    }
    if (!(window.MathJax.startup && window.MathJax.startup.promise)) {
      notes.push("MathJax did not start (its script did not load or run)");
    } else if (!(await within(window.MathJax.startup.promise, mathjaxMs))) {
      notes.push(`MathJax did not finish typesetting within ${mathjaxMs} ms`);
    }
  }
  const images = Array.from(document.images);
  for (const img of images) if (img.loading === "lazy") img.loading = "eager";
  await within(Promise.all(images.map((img) => img.decode().catch(() => null))), imageMs);
  return notes;
}
"""

_CHECK_JS = """
() => {
  const text = (el) => (el.innerText || el.textContent || "").replace(/\\s+/g, " ").trim();
  const describe = (el) => {
    const cls = typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\\s+/).join(".") : "";
    return `<${el.tagName.toLowerCase()}${cls}> "${text(el).slice(0, 80)}"`;
  };
  const visible = (el) => (el.checkVisibility
    ? el.checkVisibility({visibilityProperty: true, contentVisibilityAuto: true})
    : el.getClientRects().length > 0);

  // 1. math
  const math = Array.from(document.querySelectorAll("span.math, div.math"));
  const unrendered = math.filter((el) => !el.querySelector("mjx-container"))
    .map((el) => (el.textContent || "").trim().slice(0, 80));
  const mathErrors = Array.from(document.querySelectorAll("mjx-merror"))
    .map((el) => el.getAttribute("data-mjx-error") || text(el));
  // Text outside code: for raw TeX delimiters (everything, hidden text too: MathJax typesets
  // it) and for machine paths (code the book shows on purpose is exempt, outputs are not).
  const SKIP = "script, style, noscript, template, textarea, mjx-container";
  const CODE = "pre, code, kbd, samp, .highlight";
  const proseText = [];
  const pathText = [];
  const walker = document.createTreeWalker(document.body || document.documentElement,
                                           NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(SKIP)) continue;
    const inCode = parent.closest(CODE) !== null;
    if (!inCode) proseText.push(node.data);
    const inOutput = parent.closest(".cell_output, .output") !== null;
    if (!parent.closest(".cell_input") && (!inCode || inOutput)) pathText.push(node.data);
  }
  const attributes = [];
  for (const el of document.querySelectorAll("[src], [href]")) {
    for (const name of ["src", "href"]) {
      const value = el.getAttribute(name);
      if (value) attributes.push(`${name}="${value}"`);
    }
  }

  // 2. images
  const images = Array.from(document.images)
    .filter((img) => !(img.complete && img.naturalWidth > 0))
    .map((img) => ({src: img.getAttribute("src") || "", alt: img.getAttribute("alt") || "",
                    complete: img.complete}));

  // 3. horizontal overflow of the text column
  // The first selector that matches, in this order (querySelector with a selector list would
  // return the first match in document order: <body>).
  const article = ["article.bd-article", "main#main-content article", "main#main-content",
                   "[role=main]", "main", "body"]
    .map((s) => document.querySelector(s)).find((el) => el !== null);
  let articleInfo = null;
  const scrollers = [];
  if (article) {
    articleInfo = {what: describe(article).slice(0, 60), scrollWidth: article.scrollWidth,
                   clientWidth: article.clientWidth};
    for (const el of article.querySelectorAll("*")) {
      const tag = el.tagName.toLowerCase();
      if (tag.startsWith("mjx-") && tag !== "mjx-container") continue;
      if (el.scrollWidth <= el.clientWidth + 1) continue;
      const ox = getComputedStyle(el).overflowX;
      if (ox !== "auto" && ox !== "scroll") continue;
      if (!visible(el)) continue;
      const where = el.closest(".cell_input") ? "code-cell input"
        : el.closest(".cell_output") ? "cell output" : "prose";
      scrollers.push({what: describe(el), where, scrollWidth: el.scrollWidth,
                      clientWidth: el.clientWidth});
    }
  }
  // 4. tables: a reader's table says yes/no and names panels in words, never True/False or a
  // panel's tag (binary_mnist-resnet-w0.25).
  const TAG = /^[a-z0-9_]+-(conv|resnet|nvae|lstm)(-[a-z0-9.]+)*$/;
  const tableCells = Array.from((article || document).querySelectorAll("td, th"))
    .map((el) => text(el)).filter((t) => t === "True" || t === "False" || TAG.test(t));
  // 5. ids: a duplicate breaks links to it and every script that looks it up (a MyST label
  // becomes an id too, so a label and a widget can collide).
  const seen = new Map();
  for (const el of document.querySelectorAll("[id]")) {
    seen.set(el.id, (seen.get(el.id) || []).concat([describe(el).slice(0, 60)]));
  }
  const duplicateIds = Array.from(seen).filter(([, els]) => els.length > 1)
    .map(([id, els]) => ({id, els}));
  return {mathCount: math.length, unrendered, mathErrors, proseText, pathText, attributes,
          images, article: articleInfo, scrollers, duplicateIds, tableCells};
}
"""


def _context(text: str, start: int, end: int, width: int = 40) -> str:
    snippet = text[max(0, start - width) : end + width]
    return " ".join(snippet.split())


def page_problems(page: Page) -> list[str]:
    """Everything wrong with a loaded page, one readable line per problem ([] when fine)."""
    problems = [f"math: {note}" for note in page.evaluate(_SETTLE_JS, [MATHJAX_TIMEOUT_MS,
                                                                        IMAGE_TIMEOUT_MS])]
    found: dict[str, Any] = page.evaluate(_CHECK_JS)

    unrendered = found["unrendered"]
    if unrendered:
        shown = "; ".join(repr(s) for s in unrendered[:5])
        problems.append(f"math: {len(unrendered)} of {found['mathCount']} math elements have no "
                        f"MathJax output (mjx-container), e.g. {shown}")
    for error in found["mathErrors"][:5]:
        problems.append(f"math: MathJax error: {error[:120]}")
    prose = " ".join(found["proseText"])
    raw = [_context(prose, m.start(), m.end()) for m in RAW_MATH.finditer(prose)]
    if raw:
        shown = "; ".join(repr(s) for s in raw[:5])
        problems.append(f"math: {len(raw)} raw TeX delimiter(s) left in the text, e.g. {shown}")

    for img in found["images"]:
        state = "complete but empty" if img["complete"] else "not loaded"
        problems.append(f"image: {img['src']!r} (alt {img['alt']!r}) {state} (naturalWidth 0)")

    article = found["article"]
    if article is None:
        problems.append("overflow: no article element found")
    elif article["scrollWidth"] > article["clientWidth"] + 1:
        problems.append(f"overflow: the text column {article['what']} is wider than its box "
                        f"(scrollWidth {article['scrollWidth']} > clientWidth "
                        f"{article['clientWidth']})")
    for el in found["scrollers"]:
        problems.append(f"overflow: horizontal scrollbar on {el['what']} in {el['where']} "
                        f"(scrollWidth {el['scrollWidth']} > clientWidth {el['clientWidth']})")

    text = "\n".join(found["pathText"])
    leaks = [_context(text, m.start(), m.end()) for m in MACHINE_PATH.finditer(text)]
    leaks += [a for a in found["attributes"] if MACHINE_PATH.search(a.split("=", 1)[1])]
    for leak in leaks:
        problems.append(f"machine path: {leak!r}")
    if found["tableCells"]:
        shown = ", ".join(repr(c) for c in sorted(set(found["tableCells"]))[:5])
        problems.append(f"table: {len(found['tableCells'])} cell(s) show a bool or a panel tag, not words: {shown} "
                        f"(use mrvae_companion.prose.yes_no / panel_label)")
    for duplicate in found["duplicateIds"]:
        problems.append(f"id: {len(duplicate['els'])} elements share id {duplicate['id']!r}: "
                        + ", ".join(duplicate["els"]))
    return problems


# --------------------------------------------------------------------------- browser fixtures


@dataclass
class BrowserTab:
    """One tab whose context aborts every non-file request and records it."""

    page: Page
    aborted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, url: str) -> None:
        """Load `url`; a redirect page (index.html's meta refresh) is followed to its target."""
        self.aborted.clear()
        self.failed.clear()
        self.errors.clear()
        self.page.goto(url, wait_until="load", timeout=30_000)
        path = Path(unquote(urlparse(url).path))
        if path.suffix == ".html" and path.is_file() and META_REFRESH.search(path.read_text()):
            self.page.wait_for_url(lambda u: u != url, wait_until="load", timeout=30_000)

    def diagnostics(self) -> str:
        lines = []
        if self.aborted:
            lines.append(f"{len(self.aborted)} network request(s) blocked (offline): "
                         + ", ".join(self.aborted[:5]))
        if self.failed:
            lines.append("failed local requests: " + ", ".join(self.failed[:5]))
        if self.errors:
            lines.append("JavaScript errors: " + "; ".join(self.errors[:3]))
        return "\n".join(lines)


@pytest.fixture(scope="module")
def offline_tab() -> Iterator[BrowserTab]:
    if sync_playwright is None:
        _missing("the Python package playwright is not installed: pip install -e '.[test]'")
    executable = chromium_path()
    if executable is None:
        _missing("no Chromium found: install Debian's chromium: "
                 "apt-get install chromium chromium-driver")
    with sync_playwright() as pw:
        browser: Browser = pw.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        context: BrowserContext = browser.new_context(viewport=VIEWPORT, service_workers="block")
        tab = BrowserTab(context.new_page())

        def route(route: Route) -> None:
            url = route.request.url
            if url.startswith(("file:", "data:", "blob:")):
                route.continue_()
            else:
                tab.aborted.append(url)
                route.abort("internetdisconnected")

        context.route("**/*", route)
        tab.page.on("requestfailed", lambda r: r.url.startswith("file:")
                    and tab.failed.append(r.url))
        tab.page.on("pageerror", lambda e: tab.errors.append(str(e)[:200]))
        try:
            yield tab
        finally:
            context.close()
            browser.close()


# --------------------------------------------------------------------------- tests

PAGES = built_pages()


@pytest.mark.parametrize("rel", PAGES or ["(no _build/html)"])
def test_built_page(rel: str, request: pytest.FixtureRequest) -> None:
    if not PAGES:
        _missing(f"no built book at {HTML_DIR}: run `make book` first")
    offline_tab: BrowserTab = request.getfixturevalue("offline_tab")
    offline_tab.open((HTML_DIR / rel).as_uri())
    problems = page_problems(offline_tab.page) + [f"javascript: {e}" for e in offline_tab.errors]
    if problems:
        message = f"{rel}: {len(problems)} problem(s)\n" + "\n".join(f"  - {p}" for p in problems)
        extra = offline_tab.diagnostics()
        pytest.fail(message + ("\n" + extra if extra else ""), pytrace=False)


SYNTHETIC_BROKEN = r"""<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body>
<main id="main-content"><article class="bd-article" style="width: 600px">
  <p>Inline <span class="math notranslate nohighlight">\(x^2\)</span> never typeset.</p>
  <p>A stray $$ y $$ display delimiter.</p>
  <img src="missing.png" alt="broken image">
  <img src="https://example.invalid/remote.png" alt="remote image">
  <pre style="overflow-x: auto; width: 300px">%s</pre>
  <p>checkpoint saved to /work/x/model.pt</p>
  <span id="explorer"></span><figure id="explorer">a widget under a label's name</figure>
  <table><tr><th>panel</th><th>monotone</th></tr><tr><td>binary_mnist-resnet-w0.25</td><td>True</td></tr></table>
</article></main></body></html>
""" % ("wide " * 200)

# Everything here is fine: the checks must not flag it.
SYNTHETIC_CLEAN = r"""<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body>
<main id="main-content"><article class="bd-article" style="width: 600px">
  <p>Rendered <span class="math"><mjx-container>x</mjx-container></span>.</p>
  <img src="ok.png" alt="one pixel">
  <div class="highlight-bash"><pre>papermill /tmp/nb.ipynb out.ipynb  # \( code \) $$</pre></div>
  <p>See <a href="https://example.org/home/page">a URL with /home/ in it</a> and a/home/b.</p>
  <details><summary>collapsed</summary>
    <pre style="overflow-x: auto; width: 300px">%s</pre></details>
  <pre style="overflow-x: auto; width: 300px">short</pre>
</article></main></body></html>
""" % ("hidden " * 200)

# A 1x1 PNG.
ONE_PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)


def explorer_state(page: Page, root: str) -> dict[str, Any]:
    """What the β explorer ``root`` (a CSS selector) shows: β, the marker and the images."""
    return page.eval_on_selector(root, """el => ({
        beta: el.querySelector("output").textContent,
        cx: el.querySelector("circle[id$='-point']").getAttribute("cx"),
        cy: el.querySelector("circle[id$='-point']").getAttribute("cy"),
        recon: el.querySelector("img[id$='-recon']").src, samples: el.querySelector("img[id$='-samples']").src,
        alt: el.querySelector("img[id$='-recon']").alt})""")


def check_explorer_moves(page: Page, root: str) -> None:
    """Move the slider of explorer ``root`` by keyboard, as a reader would, and check that the
    point, the images and the β shown all change, and come back with the slider."""
    slider = page.locator(f"{root} input[type=range]")
    slider.focus()
    before = explorer_state(page, root)
    slider.press("Home")
    low = explorer_state(page, root)
    slider.press("End")
    high = explorer_state(page, root)
    assert low["beta"] != high["beta"] and (low["cx"], low["cy"]) != (high["cx"], high["cy"]), (low, high)
    assert low["recon"] != high["recon"] and low["samples"] != high["samples"]
    assert high["beta"] in high["alt"]
    assert float(low["beta"]) < float(before["beta"]) < float(high["beta"])


def test_the_beta_explorer_moves_with_its_slider(tmp_path: Path, offline_tab: BrowserTab, tiny_explorer) -> None:
    (tmp_path / "explorer.html").write_text(f"<html><body>{tiny_explorer(start=0.3)}</body></html>")
    offline_tab.open((tmp_path / "explorer.html").as_uri())
    check_explorer_moves(offline_tab.page, "#beta-explorer")
    assert offline_tab.errors == [] and offline_tab.aborted == []


EXPLORER_PAGES = [rel for rel in PAGES if 'class="mrvae-explorer"' in (HTML_DIR / rel).read_text(errors="ignore")]


@pytest.mark.parametrize("rel", EXPLORER_PAGES or ["(no β explorer in the built book)"])
def test_every_beta_explorer_in_the_book_moves(rel: str, offline_tab: BrowserTab) -> None:
    if not EXPLORER_PAGES:
        pytest.skip("no β explorer in the built book")
    offline_tab.open((HTML_DIR / rel).as_uri())
    for index in range(offline_tab.page.locator(".mrvae-explorer").count()):
        element_id = offline_tab.page.locator(".mrvae-explorer").nth(index).get_attribute("id")
        check_explorer_moves(offline_tab.page, f"#{element_id}")


def test_page_problems_reports_each_check(tmp_path: Path, offline_tab: BrowserTab) -> None:
    (tmp_path / "broken.html").write_text(SYNTHETIC_BROKEN)
    offline_tab.open((tmp_path / "broken.html").as_uri())
    problems = page_problems(offline_tab.page)
    report = "\n".join(problems)
    assert any(p.startswith("math:") and "1 of 1 math elements" in p and "x^2" in p
               for p in problems), report
    assert any(p.startswith("math:") and "raw TeX" in p and "$$" in p for p in problems), report
    assert any(p.startswith("image:") and "missing.png" in p for p in problems), report
    assert any(p.startswith("image:") and "remote.png" in p for p in problems), report
    assert any(p.startswith("overflow:") and "<pre>" in p and '"wide wide' in p
               for p in problems), report
    assert any(p.startswith("machine path:") and "/work/x/model.pt" in p for p in problems), report
    assert any(p.startswith("id:") and "2 elements share id 'explorer'" in p for p in problems), report
    assert any(p.startswith("table:") and "'True'" in p and "'binary_mnist-resnet-w0.25'" in p
               for p in problems), report
    assert offline_tab.aborted == ["https://example.invalid/remote.png"]


def test_page_problems_passes_a_clean_page(tmp_path: Path, offline_tab: BrowserTab) -> None:
    (tmp_path / "ok.png").write_bytes(ONE_PIXEL_PNG)
    (tmp_path / "clean.html").write_text(SYNTHETIC_CLEAN)
    offline_tab.open((tmp_path / "clean.html").as_uri())
    assert page_problems(offline_tab.page) == []
    assert offline_tab.errors == []


def test_a_script_declared_twice_is_a_javascript_error(tmp_path: Path, offline_tab: BrowserTab) -> None:
    script = '<script>const THEBE_JS_URL = "x";</script>'
    (tmp_path / "twice.html").write_text(f"<html><head>{script}{script}</head><body></body></html>")
    offline_tab.open((tmp_path / "twice.html").as_uri())
    assert any("already been declared" in e for e in offline_tab.errors), offline_tab.errors


def test_text_column_wider_than_its_box(tmp_path: Path, offline_tab: BrowserTab) -> None:
    (tmp_path / "wide.html").write_text(
        '<html><body><article class="bd-article" style="width: 400px">'
        '<div style="width: 900px">a wide figure</div></article></body></html>')
    offline_tab.open((tmp_path / "wide.html").as_uri())
    problems = page_problems(offline_tab.page)
    assert any("text column" in p and "scrollWidth 900 > clientWidth 400" in p
               for p in problems), problems


def test_machine_path_pattern() -> None:
    for leak in ["/work/main/runs", "saved to /tmp/abc", "(/root/x)", '"/home/user/data"']:
        assert MACHINE_PATH.search(leak), leak
    for fine in ["https://host/home/page", "a/home/b", "./tmp/x", "~/work/x", "/tmp/", "/workers/"]:
        assert not MACHINE_PATH.search(fine), fine


def test_missing_prerequisite_skips_or_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="run `make book` first"):
        _missing("run `make book` first")
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_ENV}=1"):
        _missing("run `make book` first")


def test_built_pages_lists_the_book_pages(tmp_path: Path) -> None:
    for rel in ["index.html", "genindex.html", "search.html", "book/a.html", "_static/x.html",
                "_sources/y.html", "book/notes.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("<html></html>")
    assert built_pages(tmp_path) == ["book/a.html", "index.html"]
    assert built_pages(tmp_path / "absent") == []
