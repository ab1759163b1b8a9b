"""Shared test helpers: tiny settings that train in seconds, a runner for the `llc-nb` command, the one execution of
the notebooks (the docs build, shared by tests/test_notebooks.py and tests/test_docs.py), and the xdist groups."""
import inspect, json, os, subprocess, sys, time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT/"tests"
NBS = ROOT/"nbs"
BUILD_DOCS = ROOT/"scripts"/"build_docs.py"

# tiny models run fastest on one thread (the toolkit's thread policy); tests seed explicitly
torch.set_num_threads(1)

from llc_nb.settings import PROFILES
TINY = PROFILES["tiny"]   # the tiny model and task of every test


def set_args(overrides):
    "['a=b', ...] -> ['--set', 'a=b', ...]"
    return [x for o in overrides for x in ("--set", o)]


def llc_nb(*args, cwd=None, timeout=300, **kw):
    "Run the `llc-nb` console script; returns the CompletedProcess."
    exe = Path(sys.executable).with_name("llc-nb")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from llc_nb.cli import main; raise SystemExit(main())"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(cmd + [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, **kw)


@pytest.fixture
def tiny():
    return list(TINY)


@pytest.fixture(scope="module")
def chromium():
    "Headless Debian Chromium (a Playwright `Browser`, see tests/browser.py); skips where missing, fails so in CI."
    from browser import chromium_browser
    with chromium_browser() as browser:
        yield browser


# ---------------------------------------------------------------- the notebooks, executed once

def _script(path: Path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def notebooks(nbs: Path = NBS) -> list[Path]:
    "The notebooks the docs build executes (its own `notebooks`: `.` and `_` paths left out), sorted by path."
    return sorted(_script(BUILD_DOCS).notebooks(nbs))


def build_docs(out: Path, *args, ok=(0,), timeout=1800) -> SimpleNamespace:
    "Run scripts/build_docs.py; fail with its output unless its exit status is in `ok`. Returns returncode and output."
    t0 = time.time()
    r = subprocess.run([sys.executable, str(BUILD_DOCS), str(out), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    output = f"{r.stdout[-6000:]}\n{r.stderr[-6000:]}"
    print(r.stdout, f"build_docs.py took {time.time() - t0:.0f} s", sep="\n")
    assert r.returncode in ok, f"build_docs.py failed (exit {r.returncode}):\n{output}"
    return SimpleNamespace(returncode=r.returncode, output=output)


def _read_report(report: Path):
    return json.loads(report.read_text(encoding="utf-8"))["notebooks"] if report.exists() else None


@pytest.fixture(scope="session")
def docs_build(tmp_path_factory):
    """The docs site built from nbs/ (tests/test_docs.py checks it), with each notebook's execution (the notebook tests
    read it): `site`, `nbs` (the notebooks it was built from: others may appear meanwhile), `returncode`, `output`,
    `results` ({path relative to nbs/: {ok, seconds, error}}, None if the build stopped before executing)."""
    out, nbs = tmp_path_factory.mktemp("docs"), notebooks()
    r = build_docs(out/"html", "--report", out/"notebooks.json", "--keep-going", ok=range(256))
    return SimpleNamespace(site=out/"html", nbs=nbs, results=_read_report(out/"notebooks.json"), **vars(r))


@pytest.fixture(scope="session")
def notebook_results(request, tmp_path_factory):
    """Each notebook's execution ({path relative to nbs/: {ok, seconds, error}}, None if the runner died), and the
    runner's output. Taken from the docs build when this session builds the site, so no notebook runs twice;
    otherwise (e.g. `pytest tests/test_notebooks.py -k settings`) only the selected notebooks are executed."""
    items = request.session.items
    if any("docs_build" in it.fixturenames for it in items):
        b = request.getfixturevalue("docs_build")
        return SimpleNamespace(results=b.results, output=b.output)
    chosen = sorted({it.callspec.params["nb"] for it in items
                     if "notebook_results" in it.fixturenames and "nb" in getattr(getattr(it, "callspec", None), "params", {})})
    out = tmp_path_factory.mktemp("notebooks")
    r = build_docs(out, "--report", out/"notebooks.json", "--execute", *chosen, ok=range(256))
    return SimpleNamespace(results=_read_report(out/"notebooks.json"), output=r.output)


# ---------------------------------------------------------------- xdist: which tests must share a worker

def _shares_state(item) -> bool:
    "Does the test use a fixture of ours wider than one test (module-scoped: trains a model, starts a browser ...)?"
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info else ()):
        for d in defs:
            try: ours = Path(inspect.getsourcefile(d.func)).resolve().is_relative_to(TESTS)
            except (TypeError, OSError): ours = False
            if ours and d.scope != "function": return True
    return False


@pytest.hookimpl(tryfirst=True)                  # before xdist reads the groups (its hook tags the node ids)
def pytest_collection_modifyitems(config, items):
    """`--dist loadgroup` (pyproject): tests are spread over the workers one by one, except groups that must share a
    worker. The docs build and the notebook tests share one (the build executes the notebooks once for both);
    the tests of a file using a module-scoped fixture of ours share one (else each worker would build that fixture
    again); every other test goes wherever a worker is free."""
    if not config.pluginmanager.hasplugin("xdist"): return
    for item in items:
        if item.get_closest_marker("xdist_group"): continue
        if {"docs_build", "notebook_results"} & set(item.fixturenames): group = "docs"
        elif _shares_state(item): group = item.path.relative_to(ROOT).as_posix()
        else: continue
        item.add_marker(pytest.mark.xdist_group(group))
