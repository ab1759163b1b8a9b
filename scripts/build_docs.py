"""Build the static docs site from the notebooks in nbs/, offline, with one command:

    python scripts/build_docs.py [OUTDIR]          # default: _docs; open OUTDIR/index.html

1. Every notebook in nbs/ is copied into a staging folder, executed on the way with nbdev's runner (execnb) in its
   own process, one torch thread, in its own folder, exactly as `nbdev-test` runs it. Cells flagged `slow` or `notest`
   (the `tst_flags` of pyproject's [tool.nbdev]) are not run and keep their committed outputs. This execution is
   also the notebook tests (tests/test_notebooks.py): `--report FILE` writes each notebook's result (ok, seconds,
   traceback) as JSON, and `--keep-going` still builds the site when notebooks fail (their pages keep their committed
   outputs) and then exits with status 3.
2. The copies are turned into pages the way nbdev does: `#|` directive lines removed, `#| hide` and `#| exporti`
   cells dropped, each `#| export` cell replaced by the API documentation (Sphinx autodoc) of the public names it
   defines, the `# Title` cell moved to the top. One API page lists every exported name of every module.
3. Sphinx + myst-nb render the staged notebooks as they are (`nb_execution_mode = "off"`): docs/conf.py.

`--no-exec` skips step 1's execution (committed outputs only: a quick preview). The notebooks in nbs/ are never written.
"""
import argparse, ast, json, os, re, shutil, subprocess, sys, tempfile, textwrap, time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT/"docs"
HIDE = {"hide", "exporti"}                    # cells never shown (nbdev hides them too)
LEXER = {"name": "python", "pygments_lexer": "ipython3"}


def nbdev_config():
    from nbdev.config import get_config
    return get_config(ROOT)


def notebooks(nbs: Path) -> list[Path]:
    "Every notebook under `nbs`, index first, then by folder and name."
    found = [p for p in nbs.rglob("*.ipynb") if not any(x.startswith((".", "_")) for x in p.relative_to(nbs).parts)]
    return sorted(found, key=lambda p: (p.relative_to(nbs).parts != ("index.ipynb",), len(p.relative_to(nbs).parts), str(p)))


# ---------------------------------------------------------------- 1. execution (one process per notebook)

def execute(src: str, skip_flags: list[str], timeout: int, profile: bool = True):
    """Run the notebook `src` as `nbdev-test` runs it (the same cells skipped: `skip_flags`, `#| eval: false`, a
    `skip_exec` notebook; `IN_TEST=1`; the IPython profile when `exec_profile`), in its own folder, one torch thread.
    Returns (the executed notebook as JSON text, or None if a cell failed; seconds; the traceback or None)."""
    from fastcore.nbio import nb2str
    from nbdev.process import NBProcessor
    from nbdev.test import _skip_cell          # nbdev-test's own predicate: the build runs exactly what the tests ran
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    import torch
    torch.set_num_threads(1)
    os.environ["IN_TEST"] = "1"
    src, t0 = Path(src), time.time()
    nb = NBProcessor(src, rm_directives=False).nb
    shell = CaptureShell(src, profile=profile)
    try:
        with working_directory(src.parent):
            shell.run_all(nb, exc_stop=True, preproc=_skip_cell(nb, skip_flags), cell_timeout=timeout)
    except BaseException:
        import traceback
        return None, time.time() - t0, shell.prettytb(fname=src) or traceback.format_exc()
    return nb2str(nb), time.time() - t0, None


def execute_all(paths: list[Path], jobs: int, skip_flags: list[str], timeout: int, profile: bool = True
                ) -> dict[Path, tuple[str | None, float, str | None]]:
    """Execute notebooks in parallel, each in a fresh process: {path: (executed notebook or None, seconds, traceback
    or None)}. A process that dies (killed, out of memory) is that notebook's failure; the others go on."""
    out = {}
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
        futs = {pool.submit(execute, str(p), skip_flags, timeout, profile): p for p in paths}
        for f in as_completed(futs):
            p = futs[f]
            try: out[p] = f.result()
            except Exception as e:                      # a dead process breaks the pool: the notebooks still queued too
                out[p] = None, 0.0, f"no result: a process of the pool died (killed, out of memory?): {e!r}"
            text, secs, err = out[p]
            print(f"  executed {p.relative_to(ROOT) if p.is_relative_to(ROOT) else p} in {secs:.0f} s"
                  + ("" if err is None else "  FAILED"), flush=True)
    return out


def write_report(report: Path, nbs: Path, results: dict):
    "Each notebook's execution as JSON: {'nbs': folder, 'notebooks': {relative path: {ok, seconds, error}}}."
    report.parent.mkdir(parents=True, exist_ok=True)
    rows = {(p.relative_to(nbs).as_posix() if p.is_relative_to(nbs) else str(p)): dict(ok=err is None, seconds=round(secs, 1), error=err)
            for p, (_, secs, err) in sorted(results.items())}
    tmp = report.with_name(report.name + ".tmp")
    tmp.write_text(json.dumps(dict(nbs=str(nbs), notebooks=rows), indent=1), encoding="utf-8")
    tmp.replace(report)


def failures(results: dict) -> list[Path]:
    "The notebooks that failed, each one's traceback printed to stderr."
    failed = [p for p, (_, _, err) in results.items() if err is not None]
    for p in failed: print(f"\n{p} failed:\n{results[p][2]}", file=sys.stderr, flush=True)
    return failed


# ---------------------------------------------------------------- 2. notebook -> page

def md_cell(text: str) -> dict:
    import nbformat
    return dict(nbformat.v4.new_markdown_cell(text))


_COMMENTED = re.compile(r"^#( |$)")

def commented(cell) -> bool:
    "Is every line of this markdown cell commented out with '# '?"
    lines = cell.source.splitlines()
    return bool(lines) and all(_COMMENTED.match(l) for l in lines)


def uncomment_markdown(cells) -> int:
    """Markdown commented out line by line with '# ' (a percent-format conversion slip) is shown uncommented.

    Such cells show as piles of headings in Jupyter too, so the notebook should be fixed; this keeps the site readable
    meanwhile, and the build says so. Only in a notebook with the slip for certain (a cell of several lines, all
    commented, which no one writes as headings): elsewhere a one-line `# Heading` cell is a heading."""
    md = [c for c in cells if c.cell_type == "markdown"]
    if not any(commented(c) and len(c.source.splitlines()) > 1 for c in md): return 0
    fixed = [c for c in md if commented(c)]
    for c in fixed: c.source = "\n".join(l[2:] for l in c.source.splitlines())
    return len(fixed)


def public_names(node) -> list[str]:
    "Public names a top-level statement defines (the names nbdev puts in `__all__`)."
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names = [node.name]
    elif isinstance(node, ast.Assign):           # `x = ...`, `a, b = ...`; not `x[k] = ...` or `x.attr = ...`
        names = [n.id for t in node.targets for n in (t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t])
                 if isinstance(n, ast.Name)]
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name): names = [node.target.id]
    else: names = []
    return [n for n in names if not n.startswith("_")]


def patched_class(node) -> tuple[str, bool] | None:
    "For a fastcore `@patch` function: (class it is added to, is it a property?)."
    for d in node.decorator_list:
        f = d.func if isinstance(d, ast.Call) else d
        if isinstance(f, ast.Name) and f.id == "patch" or isinstance(f, ast.Attribute) and f.attr == "patch":
            prop = isinstance(d, ast.Call) and any(k.arg == "as_prop" and ast.unparse(k.value) == "True" for k in d.keywords)
            ann = node.args.args[0].annotation if node.args.args else None
            cls = ann and ast.unparse(ann).split("|")[0].strip().strip("'\"")
            return (cls, prop) if cls else None
    return None


def rst_indent(text: str, n: int = 3) -> str: return textwrap.indent(text, " " * n)


def api_rst(source: str, module: str, documented: list[str]) -> str:
    "Autodoc directives (rST) for the public names an exported cell defines; their full names go to `documented`."
    out = []
    for node in ast.parse(source).body:
        pc = patched_class(node) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        full = lambda name: f"{module}.{name}"
        if any(full(n) in documented for n in ([f"{pc[0]}.{node.name}"] if pc else public_names(node))):
            continue                                                       # redefined later in the notebook: once
        if pc:
            if node.name.startswith("_"): continue
            cls, prop = pc
            out.append(f".. auto{'property' if prop else 'method'}:: {full(cls)}.{node.name}")
            documented.append(full(f"{cls}.{node.name}"))
        elif isinstance(node, ast.ClassDef) and public_names(node):
            methods = [m.name for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                       and not m.name.startswith("_")]
            out.append(f".. autoclass:: {full(node.name)}" +
                       (f"\n   :members: {', '.join(methods)}\n   :undoc-members:" if methods else ""))
            documented += [full(node.name)] + [full(f"{node.name}.{m}") for m in methods]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and public_names(node):
            out.append(f".. autofunction:: {full(node.name)}")
            documented.append(full(node.name))
        elif names := public_names(node):
            code = ast.get_source_segment(source, node) or ast.unparse(node)
            for i, name in enumerate(names):      # constants: their defining line, not the docstring of their type
                out.append(f".. py:data:: {name}\n   :module: {module}" +
                           ("" if i else "\n\n" + rst_indent(".. code-block:: python\n\n" + rst_indent(code))))
            documented += [full(n) for n in names]
    return "\n\n".join(out)


def to_page(nb: dict, rel: Path, lib: str, api: dict) -> tuple[dict, list[str]]:
    "Turn an executed notebook (parsed with nbdev) into the page myst-nb renders; returns it and notes about it."
    from nbdev.process import NBProcessor
    cells = NBProcessor(nb=nb, rm_directives=False).nb.cells
    notes = []
    module = next((f"{lib}.{c.directives_['default_exp'].strip()}" for c in cells
                   if c.cell_type == "code" and "default_exp" in (c.directives_ or {})), None)
    fixed = uncomment_markdown(cells)
    if fixed: notes.append(f"{fixed} markdown cell(s) had every line commented out with '# '; shown uncommented")
    documented, page = [], []
    for c in cells:
        d = c.directives_ or {}
        if c.cell_type == "code":
            if HIDE & d.keys() or d.get("include", "").strip() == "false": continue
            c.remove_directives()
            exp = next((k for k in ("export", "exports") if k in d), None)   # `exports` also shows the source
            if exp and (to := f"{lib}.{d[exp].strip()}" if d[exp].strip() else module):
                rst = api_rst(c.source, to, documented)
                if exp == "exports": page.append(c)
                if rst: page.append(md_cell("```{eval-rst}\n" + rst + "\n```"))
                continue
            c.setdefault("metadata", {}).pop("execution", None)   # execnb's timings (floats where nbformat wants strings)
            tags = c["metadata"].setdefault("tags", [])
            if "hide_input" in d or d.get("echo", "").strip() == "false": tags.append("remove-input")
            if "hide_output" in d or d.get("output", "").strip() == "false": tags.append("remove-output")
            if not c.source.strip() and not c.get("outputs"): continue
        page.append(c)
    # the `# Title` cell leads the page, as nbdev's front matter does
    first_md = next((i for i, c in enumerate(page) if c["cell_type"] == "markdown"), None)
    if first_md and page[first_md]["source"].lstrip().startswith("# ") and all(
            c["cell_type"] == "code" for c in page[:first_md]):
        page.insert(0, page.pop(first_md))
    if module:
        title = 1 if page and page[0]["source"].lstrip().startswith("# ") else 0
        page.insert(title, md_cell(f"```{{eval-rst}}\n.. module:: {module}\n```\n\n"
                                   f"Module `{module}`; every exported name is also listed in the {{doc}}`/api`."))
        api[module] = (rel.with_suffix("").as_posix(), documented)
    nb["cells"] = page
    nb.setdefault("metadata", {})["language_info"] = LEXER
    return nb, notes


# ---------------------------------------------------------------- 3. the site

def write_page(nb: dict, dest: Path):
    """Write a staged page. myst-nb numbers the lines of cell i from (i+1)*10000 unless the notebook has a source map,
    and MyST pads every `eval-rst` block with that many newlines before parsing it: on API-heavy pages that was most
    of the build time. So number the lines as if the cells were one file (warnings then point at that line)."""
    import nbformat
    starts = [0]
    for c in nb["cells"][:-1]: starts.append(starts[-1] + len("".join(c["source"]).splitlines()) + 1)
    nb["metadata"]["source_map"] = starts
    nbformat.write(nbformat.from_dict(nb), dest)


def toctree(caption: str, docs: list[str]) -> str:
    return f"```{{toctree}}\n:caption: {caption}\n:maxdepth: 1\n\n" + "\n".join(docs) + "\n```"


def api_page(api: dict) -> str:
    "One page listing every exported name, module by module, each linked to its documentation."
    parts = ["# API reference\n\nEvery name the package exports, with a link to its documentation on its module's page."]
    for module, (doc, names) in sorted(api.items()):
        parts.append(f"## `{module}`\n\nDocumented on {{doc}}`/{doc}`.\n\n" +
                     "\n".join(f"* {{py:obj}}`{n.removeprefix(module + '.')} <{n}>`" for n in names))
    return "\n\n".join(parts) + "\n"


def stage(paths: list[Path], nbs: Path, src: Path, executed: dict, lib: str):
    "Write the pages into `src`: the notebooks, the API page, and the index's table of contents."
    from fastcore.nbio import dict2nb, nb2dict
    groups, api = {}, {}
    for p in paths:
        rel = p.relative_to(nbs)
        nb = dict2nb(json.loads(executed[p])) if p in executed else dict2nb(json.loads(p.read_text(encoding="utf-8")))
        nb, notes = to_page(nb, rel, lib, api)
        for n in notes: print(f"  warning: {rel}: {n} (fix the notebook)", flush=True)
        dest = src/rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_page(nb2dict(nb), dest)
        if rel != Path("index.ipynb"):
            group = "Modules" if len(rel.parts) == 1 else rel.parts[0].replace("_", " ").capitalize()
            groups.setdefault(group, []).append(rel.with_suffix("").as_posix())
    if not (src/"index.ipynb").exists(): raise SystemExit(f"docs: {nbs}/index.ipynb is missing (the home page)")
    if api:
        (src/"api.md").write_text(api_page(api), encoding="utf-8")
        groups["API"] = ["api"]
    index = json.loads((src/"index.ipynb").read_text(encoding="utf-8"))
    index["cells"].append(md_cell("## Contents\n\n" + "\n\n".join(toctree(g, docs) for g, docs in groups.items())))
    write_page(index, src/"index.ipynb")


def replace_dir(d: Path, marker: str):
    "Empty `d` for a new build, but only if it is empty or holds an earlier one (it has `marker`): never another folder."
    if d.exists() and any(d.iterdir()):
        if not (d/marker).exists(): raise SystemExit(f"docs: {d} is not empty and holds no earlier build: not replacing it")
        shutil.rmtree(d)
    d.mkdir(parents=True, exist_ok=True)
    if marker.startswith(".llc_nb"): (d/marker).touch()


FAILED_NOTEBOOKS = 3                          # exit status with --keep-going: the site is built, notebooks failed


def build(out: Path, nbs: Path, run: bool = True, jobs: int | None = None, keep_src: Path | None = None,
          timeout: int = 600, report: Path | None = None, keep_going: bool = False) -> list[Path]:
    """Build the site; returns the notebooks that failed to execute (only with `keep_going`: else the build stops
    there, with each one's traceback). `report`: each notebook's execution written there as JSON (`write_report`)."""
    t0 = time.time()
    os.environ["OMP_NUM_THREADS"] = "1"                       # the toolkit's thread policy, also for the children
    os.environ.setdefault("MPLBACKEND", "Agg")
    cfg = nbdev_config()
    paths = notebooks(nbs)
    if not paths: raise SystemExit(f"docs: no notebooks under {nbs}")
    print(f"docs: {len(paths)} notebooks from {nbs}" + (", executing them" if run else ", committed outputs only"), flush=True)
    results = execute_all(paths, jobs or os.cpu_count() or 1, cfg.tst_flags.split(), timeout,
                          bool(cfg.get("exec_profile", True))) if run else {}
    if report and run: write_report(report, nbs, results)
    failed = failures(results)
    if failed and not keep_going:
        raise SystemExit(f"docs: {len(failed)} notebook(s) failed to execute: {', '.join(p.name for p in failed)}")
    if failed: print(f"docs: {len(failed)} notebook(s) failed to execute; their pages show their committed outputs", flush=True)
    executed = {p: text for p, (text, _, err) in results.items() if err is None}
    t_exec = time.time() - t0
    with tempfile.TemporaryDirectory(prefix="llc_nb_docs_") as tmp:
        src = keep_src or Path(tmp)/"src"
        replace_dir(src, ".llc_nb_docs_src")
        stage(paths, nbs, src, executed, Path(cfg.lib_path).name)
        replace_dir(out, ".buildinfo")
        cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-c", str(CONF_DIR),
               "-d", str(Path(tmp)/"doctrees"), str(src), str(out)]
        r = subprocess.run(cmd, cwd=ROOT)
        if r.returncode: raise SystemExit(f"docs: sphinx failed (exit {r.returncode}); the staged pages: "
                                          + (str(src) if keep_src else "rerun with --keep-src DIR to inspect them"))
    total = time.time() - t0
    print(f"docs: built {out/'index.html'} in {total:.0f} s "
          f"(execution {t_exec:.0f} s, pages {total - t_exec:.0f} s)", flush=True)
    return failed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default="_docs", help="output folder (default: _docs), replaced whole")
    ap.add_argument("--nbs", default=None, help="notebook folder (default: nbs_path of [tool.nbdev])")
    ap.add_argument("--no-exec", action="store_true", help="do not execute: committed outputs only (a quick preview)")
    ap.add_argument("--jobs", type=int, default=None, help="notebooks executed at once (default: CPU count)")
    ap.add_argument("--keep-src", default=None, help="keep the staged pages (what Sphinx reads) in this folder")
    ap.add_argument("--cell-timeout", type=int, default=600, help="seconds per cell (default 600)")
    ap.add_argument("--report", default=None, help="write each notebook's execution (ok, seconds, traceback) here as JSON")
    ap.add_argument("--keep-going", action="store_true", help="build the site even if notebooks fail (their pages show "
                    f"their committed outputs), then exit with status {FAILED_NOTEBOOKS}")
    ap.add_argument("--execute", nargs="+", default=None, metavar="NOTEBOOK",
                    help="only execute these notebooks (no site; OUTDIR unused), e.g. with --report: the notebook tests")
    a = ap.parse_args(argv)
    nbs = Path(a.nbs).resolve() if a.nbs else ROOT/nbdev_config().nbs_path
    if a.execute:
        os.environ["OMP_NUM_THREADS"] = "1"
        os.environ.setdefault("MPLBACKEND", "Agg")
        cfg, paths = nbdev_config(), [Path(x).resolve() for x in a.execute]
        results = execute_all(paths, a.jobs or os.cpu_count() or 1, cfg.tst_flags.split(), a.cell_timeout,
                              bool(cfg.get("exec_profile", True)))
        if a.report: write_report(Path(a.report).resolve(), nbs, results)
        if failures(results): raise SystemExit(FAILED_NOTEBOOKS)
        return
    failed = build(Path(a.out).resolve(), nbs, run=not a.no_exec, jobs=a.jobs,
                   keep_src=Path(a.keep_src).resolve() if a.keep_src else None, timeout=a.cell_timeout,
                   report=Path(a.report).resolve() if a.report else None, keep_going=a.keep_going)
    if failed: raise SystemExit(FAILED_NOTEBOOKS)


if __name__ == "__main__":
    main()
