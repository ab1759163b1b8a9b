"""The docs site: `scripts/build_docs.py` builds it from nbs/ into a temp dir, and the site is checked as a reader meets
it. Every notebook has its page and every exported name its documentation; no internal link or anchor is broken;
nothing is fetched from the network; executed examples show their outputs while `slow` cells keep their committed
ones; and in headless Chromium the pages load without errors. A second, tiny site built from notebooks written here
checks what nbs/ may not contain today: hidden cells, skipped cells, a raw-HTML slider that must work without a kernel,
and a notebook that fails (reported with its traceback, its page kept with its committed outputs).

The build is the one execution of the notebooks: `docs_build` (tests/conftest.py) runs it once per session with
`--keep-going`, tests/test_notebooks.py reports each notebook from it, and the checks here read its site.

Browser checks are small functions (`check_page`, `check_slider`) so a new page or widget needs one more line."""
import importlib, json, re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from browser import open_page
from conftest import NBS, build_docs

SKIP_FLAGS = {"slow", "notest"}              # pyproject [tool.nbdev] tst_flags: never executed by the build
HIDDEN = {"hide", "exporti"}
FAILED_NOTEBOOKS = 3                         # build_docs.py's exit status with --keep-going when notebooks failed


def page_of(site: Path, nbs: Path, nb: Path) -> Path: return site/nb.relative_to(nbs).with_suffix(".html")


def cells(nb: Path):
    "The notebook's cells as nbdev reads them (with `directives_`)."
    from nbdev.process import NBProcessor
    return NBProcessor(nb, rm_directives=False).nb.cells


# ---------------------------------------------------------------- reading the built HTML

class Page(HTMLParser):
    "What the checks need from one HTML file: anchors, references, range inputs, and the text of code-cell inputs."
    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.path, self.ids, self.refs, self.ranges, self.code, self.imgs = path, set(), [], 0, [], []
        self._divs = []                                           # classes of the open <div>s
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("id", "name") if tag == "a" else ("id",):
            if a.get(k): self.ids.add(a[k])
        for k in ("href", "src"):
            if a.get(k) is not None: self.refs.append((tag, k, a[k]))
        if tag == "img": self.imgs.append(a.get("src", ""))
        if tag == "input" and a.get("type") == "range": self.ranges += 1
        if tag == "div": self._divs.append(a.get("class") or "")

    def handle_endtag(self, tag):
        if tag == "div" and self._divs: self._divs.pop()

    def handle_data(self, data):
        if any("cell_input" in c for c in self._divs): self.code.append(data)

    @property
    def code_text(self) -> str: return "".join(self.code)

    @property
    def text(self) -> str: return self.path.read_text(encoding="utf-8")


def read_site(site: Path) -> dict[Path, Page]: return {p: Page(p) for p in sorted(site.rglob("*.html"))}


def broken_links(site: Path, pages: dict[Path, Page]) -> list[str]:
    """Every relative href/src must name a file of the site, and its #fragment an id in that file. Only <a> may point
    off the site: a script, stylesheet, image or frame from the network would break the offline site."""
    bad = []
    for path, page in pages.items():
        for tag, attr, url in page.refs:
            u = urlsplit(url)
            where = f"{path.relative_to(site)}: <{tag} {attr}={url[:100]!r}>"
            if u.scheme in ("mailto", "javascript", "data"): continue
            if u.scheme or url.startswith("//"):
                if tag != "a": bad.append(f"{where} loads from the network")
                continue
            target = (path.parent/unquote(u.path)).resolve() if u.path else path
            if target.is_dir(): target = target/"index.html"
            if not target.is_relative_to(site.resolve()) or not target.exists():
                bad.append(f"{where}: no such file"); continue
            if u.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else Page(target).ids
                if unquote(u.fragment) not in ids: bad.append(f"{where}: no anchor #{u.fragment} there")
    for css in site.rglob("*.css"):                        # stylesheets load fonts and images too
        for url in re.findall(r"""url\(\s*['"]?([^'")]+)""", css.read_text(encoding="utf-8", errors="replace")):
            if url.startswith("data:") or url.startswith("#"): continue
            if re.match(r"(https?:)?//", url): bad.append(f"{css.relative_to(site)}: url({url[:100]}) loads from the network")
            elif not (css.parent/unquote(urlsplit(url).path)).exists(): bad.append(f"{css.relative_to(site)}: url({url}): no such file")
    return bad


# ---------------------------------------------------------------- browser checks (shared by both sites)

def check_page(browser, html: Path, shots: Path, min_images: int = 0):
    "The page loads with no console error, page error, failed or network request, or broken image; returns the page."
    shot = shots/f"{len(list(shots.iterdir())):02d}_{html.stem}.png"
    page, problems = open_page(browser, html.as_uri(), screenshot=shot, viewport={"width": 1200, "height": 900})
    assert not problems, f"{html.name} in Chromium (screenshot {shot}):\n" + "\n".join(problems)
    assert page.locator("h1").count() >= 1, f"{html.name}: no title rendered"
    n = page.evaluate("document.querySelectorAll('.cell_output img').length")
    assert n >= min_images, f"{html.name}: {n} output images in the browser, expected at least {min_images}"
    return page


_FRAME = """r => { const box = r.closest('.cell_output') || r.closest('section') || document.body;
  return Array.from(box.querySelectorAll('img')).filter(i => i.offsetParent !== null && i.naturalWidth > 0)
    .map(i => (i.currentSrc || i.src).slice(-60) + ':' + (i.currentSrc || i.src).length).join('|'); }"""


def check_slider(page, html_name: str):
    """Every range input on the page is a static slider: moving it to its other end changes the frame shown (the
    visible, loaded <img>s of its output), with no kernel and no error."""
    sliders = page.locator("input[type=range]")
    assert sliders.count() >= 1, f"{html_name}: no slider"
    for i in range(sliders.count()):
        s = sliders.nth(i)
        before = s.evaluate(_FRAME)
        assert before, f"{html_name}: slider {i} shows no loaded frame"
        lo, hi, v = (s.evaluate(f"r => Number(r.{k})") for k in ("min", "max", "value"))
        assert hi > lo, f"{html_name}: slider {i} has a single position"
        s.fill(str(int(lo if v == hi else hi)))            # dispatches input and change, as a drag would
        try: page.wait_for_function(f"([r, b]) => ({_FRAME})(r) !== b", arg=[s.element_handle(), before], timeout=3000)
        except Exception: pytest.fail(f"{html_name}: slider {i} moved to the other end, the frame did not change")


# ---------------------------------------------------------------- the site built from nbs/

@pytest.fixture(scope="module")
def built(docs_build) -> tuple[Path, list[Path]]:
    """The site built from nbs/, and the notebooks it was built from (others may appear in nbs/ while it builds).
    Notebooks that failed are tests/test_notebooks.py's failures; their pages keep their committed outputs."""
    assert docs_build.returncode in (0, FAILED_NOTEBOOKS), f"docs build failed:\n{docs_build.output}"
    return docs_build.site, docs_build.nbs


@pytest.fixture(scope="module")
def site(built) -> Path: return built[0]


@pytest.fixture(scope="module")
def nbs(built) -> list[Path]: return built[1]


@pytest.fixture(scope="module")
def pages(site): return read_site(site)


def test_every_notebook_has_a_page(site, pages, nbs):
    assert (NBS/"index.ipynb") in nbs and any(p.parent.name == "tutorials" for p in nbs)
    missing = [str(nb.relative_to(NBS)) for nb in nbs if page_of(site, NBS, nb) not in pages]
    assert not missing, f"notebooks without a page: {missing}"
    for extra in ("api.html", "genindex.html", "search.html", "py-modindex.html"): assert site/extra in pages, extra
    index = pages[site/"index.html"].text
    for nb in (p for p in nbs if p != NBS/"index.ipynb"):   # the index's table of contents reaches every page
        assert f'href="{nb.relative_to(NBS).with_suffix(".html").as_posix()}' in index, f"index does not link {nb.name}"


def test_every_export_is_documented(site, pages, nbs):
    """Each name in the `__all__` of each module (each notebook's `default_exp`) has its documentation (an anchor
    `llc_nb.module.name`) and is listed on api.html."""
    modules = [c.directives_["default_exp"].strip() for nb in nbs for c in cells(nb)
               if c.cell_type == "code" and "default_exp" in (c.directives_ or {})]
    assert len(modules) >= 5, modules
    ids = set().union(*(p.ids for p in pages.values()))
    api = pages[site/"api.html"].text
    missing = []
    for m in modules:
        mod = importlib.import_module(f"llc_nb.{m}")
        assert f"module-llc_nb.{m}" in ids, f"llc_nb.{m} has no module page"
        for name in mod.__all__:
            full = f"llc_nb.{m}.{name}"
            if full not in ids: missing.append(full)
            elif f'#{full}"' not in api: missing.append(f"{full} (not linked from api.html)")
    assert not missing, f"exported but not documented: {missing}"
    unresolved = [re.sub("<[^>]+>", "", li) for li in re.findall(r"<li><p>(.*?)</p></li>", api, re.S) if "<a " not in li]
    assert not unresolved, f"listed on api.html without documentation to link to: {unresolved}"


def test_no_broken_links_and_offline(site, pages):
    bad = broken_links(site, pages)
    assert not bad, f"{len(bad)} broken or online references:\n" + "\n".join(bad[:50])


def test_pages_are_the_notebooks_as_nbdev_shows_them(site, pages, nbs):
    """Directive lines stripped; hidden cells gone; exported code replaced by its documentation; executed examples
    show outputs; `slow`/`notest` cells keep their committed outputs (they are never run by the build)."""
    executed_images = 0
    for nb in nbs:
        page = pages[page_of(site, NBS, nb)]
        code = page.code_text
        assert not re.search(r"^\s*#\s*\|", code, re.M), f"{nb.name}: a `#|` directive line is on the page"
        cs = cells(nb)
        for c in cs:
            d = c.directives_ or {}
            if c.cell_type != "code": continue
            lines = [l for l in c.source.splitlines() if l.strip() and not re.match(r"\s*#\s*\|", l)]
            if (HIDDEN | {"export"}) & d.keys():
                for l in lines:
                    if l.startswith(("def ", "class ")): assert l not in code, f"{nb.name}: hidden/exported code shown: {l}"
        committed = sum(1 for c in cs if (c.directives_ or {}).keys() & SKIP_FLAGS
                        for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
        shown = sum(1 for s in page.imgs if "_images/" in s)
        assert shown >= committed, f"{nb.name}: {committed} committed images in skipped cells, {shown} on the page"
        if not any(c.get("outputs") for c in cs): executed_images += shown
    assert executed_images > 0, "no notebook without committed outputs shows an output image: was anything executed?"


@pytest.fixture(scope="module")
def shots(tmp_path_factory): return tmp_path_factory.mktemp("screenshots")


def test_pages_load_in_chromium(site, nbs, chromium, shots):
    "The index and every tutorial page load with no error, their figures included (screenshots in the tmp dir)."
    check_page(chromium, site/"index.html", shots, min_images=1)
    for nb in (p for p in nbs if p.parent == NBS/"tutorials"):
        committed = sum(1 for c in cells(nb) for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
        check_page(chromium, page_of(site, NBS, nb), shots, min_images=min(committed, 1))


# Pages that must carry a working static slider (the studies' checkpoint frames), relative to the site.
SLIDER_PAGES = ["tutorials/study_one_head.html", "tutorials/study_two_heads.html"]


def test_static_sliders_work(site, pages, chromium, shots):
    "Every page with a slider (an input[type=range]) changes its frame when moved; the pages listed above must have one."
    missing = [p for p in SLIDER_PAGES if not (site/p in pages and pages[site/p].ranges)]
    assert not missing, f"pages without the expected static slider: {missing}"
    with_slider = [p for p, pg in pages.items() if pg.ranges]
    if not with_slider: pytest.skip("no page built from nbs/ has a static slider (input[type=range]) yet")
    for html in with_slider: check_slider(check_page(chromium, html, shots), html.name)


# ---------------------------------------------------------------- a tiny site from notebooks written here

def nb_json(*cells) -> str:
    cs = [dict(cell_type=t, id=f"c{i}", metadata={}, source=s, **(dict(outputs=o, execution_count=None) if t == "code" else {}))
          for i, (t, s, o) in enumerate(cells)]
    return json.dumps(dict(cells=cs, metadata=dict(kernelspec=dict(name="python3", language="python", display_name="Python 3")),
                           nbformat=4, nbformat_minor=5))


SLIDER = r'''
from IPython.display import HTML
def frame(color): return f"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='40' height='40'%3E%3Crect width='40' height='40' fill='{color}'/%3E%3C/svg%3E"
HTML("""<div class="slider-test"><input type="range" min="0" max="2" value="0"><img alt="frame">
<script>(() => { const frames = %s, box = document.currentScript.parentElement;
  const r = box.querySelector("input"), img = box.querySelector("img");
  const show = () => { img.src = frames[r.value]; }; r.addEventListener("input", show); show(); })();</script></div>"""
     % [frame(c) for c in ("red", "green", "blue")])'''


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory):
    "Notebooks written here, the site built from them, each notebook's execution (--report) and the build's run."
    nbs = tmp_path_factory.mktemp("nbs")
    (nbs/"tutorials").mkdir()
    (nbs/"index.ipynb").write_text(nb_json(
        ("code", "#| hide\nSECRET = 41 + 1  # hidden-cell-marker", []),
        ("markdown", "# Tiny\n\n> A site from notebooks written by the test. The [study](tutorials/study.ipynb).", None),
        ("code", "#| echo: false\nprint(f'answer {SECRET}')", []),
        ("code", "#|  slow\nraise RuntimeError('slow cells must not run')",
         [dict(output_type="stream", name="stdout", text="committed-slow-output\n")]),
        ("code", "#| notest\nraise RuntimeError('notest cells must not run')",
         [dict(output_type="stream", name="stdout", text="committed-notest-output\n")]),
        ("code", SLIDER, [])))
    (nbs/"tutorials"/"study.ipynb").write_text(nb_json(
        ("markdown", "# Study\n\nBack to the [home page](../index.ipynb#tiny).", None),
        ("code", "1 + 1", [])))
    (nbs/"tutorials"/"broken.ipynb").write_text(nb_json(
        ("markdown", "# Broken\n\nA notebook that fails.", None),
        ("code", "print('fresh' + '-output')\n1 / 0", [dict(output_type="stream", name="stdout", text="committed-broken-output\n")])))
    out = tmp_path_factory.mktemp("tiny")
    run = build_docs(out/"html", "--nbs", nbs, "--report", out/"notebooks.json", "--keep-going", ok=(FAILED_NOTEBOOKS,))
    return nbs, out/"html", json.loads((out/"notebooks.json").read_text())["notebooks"], run


@pytest.fixture(scope="module")
def tiny_site(tiny_build):
    "The tiny site, built with --keep-going although one of its notebooks fails."
    site = tiny_build[1]
    return site, read_site(site)


def test_tiny_site_cells(tiny_site):
    site, pages = tiny_site
    assert {p.relative_to(site).as_posix() for p in pages} >= {"index.html", "tutorials/study.html"}
    assert not (site/"api.html").exists()                    # no `default_exp`: no API page
    index = pages[site/"index.html"]
    assert "answer 42" in index.text, "the hidden cell ran and the next cell's output is shown"
    assert "hidden-cell-marker" not in index.text and "print(f" not in index.code_text, "hidden input shown"
    assert "committed-slow-output" in index.text and "committed-notest-output" in index.text
    assert "raise RuntimeError" in index.code_text and not re.search(r"#\s*\|", index.code_text)
    assert index.ranges == 1 and "<script>" in index.text, "the raw HTML output and its script survive"
    assert not broken_links(site, pages)


def test_tiny_site_in_chromium(tiny_site, chromium, shots):
    site, _ = tiny_site
    page = check_page(chromium, site/"index.html", shots)
    check_slider(page, "tiny index.html")
    check_page(chromium, site/"tutorials"/"study.html", shots)


def test_tiny_site_failing_notebook(tiny_build, tiny_site, tmp_path):
    """A failing notebook is reported with its traceback (what tests/test_notebooks.py shows), the other notebooks
    still run and the site is still built, the failing page with its committed outputs; the same with `--execute`
    alone (the notebook tests run without the site)."""
    nbs, site, report, run = tiny_build
    assert set(report) == {"index.ipynb", "tutorials/study.ipynb", "tutorials/broken.ipynb"}, report
    assert report["index.ipynb"]["ok"] and report["tutorials/study.ipynb"]["ok"]
    bad = report["tutorials/broken.ipynb"]
    assert not bad["ok"] and "ZeroDivisionError" in bad["error"] and "broken.ipynb" in bad["error"], bad
    assert "1 notebook(s) failed" in run.output and "ZeroDivisionError" in run.output
    page = tiny_site[1][site/"tutorials"/"broken.html"].text
    assert "committed-broken-output" in page and "fresh-output" not in page
    build_docs(tmp_path, "--nbs", nbs, "--report", tmp_path/"r.json", "--execute",
               nbs/"tutorials"/"broken.ipynb", nbs/"tutorials"/"study.ipynb", ok=(FAILED_NOTEBOOKS,))
    again = json.loads((tmp_path/"r.json").read_text())["notebooks"]
    assert not again["tutorials/broken.ipynb"]["ok"] and again["tutorials/study.ipynb"]["ok"], again
