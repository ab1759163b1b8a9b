"""Sphinx configuration of the docs site. Build with `python scripts/build_docs.py`, which stages the notebooks
(executed, nbdev directives stripped) and points Sphinx at this folder; the pages are rendered, never executed here."""
import re

from fastcore.docments import docments

project = "llc_nb"
author = "llc_nb developers"
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.viewcode"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "jupyter_execute"]

# myst-nb: render the outputs stored in the staged notebooks; never run a kernel, never fetch widget JS from a CDN
nb_execution_mode = "off"
nb_ipywidgets_js = {}
nb_merge_streams = True
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]          # a notebook may jump heading levels; every other warning fails the build

# autodoc: the page of a module documents each exported name where the notebook defines it
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
add_module_names = False

# a self-contained site: the theme ships its own CSS/JS (no CDN, no web fonts); no copies of the sources
html_theme = "furo"
html_title = "llc_nb"
html_copy_source = False
html_show_sourcelink = False
html_static_path = []


_CODE = re.compile(r"`([^`]+)`")
_SPECIAL = re.compile(r"([\\*|_`<>\[\]])")


def md_to_rst(line: str) -> str:
    "One line of a markdown docstring as rST: `code` becomes a literal, everything else is escaped (no markup)."
    out, pos = [], 0
    for m in _CODE.finditer(line):
        out.append(_SPECIAL.sub(r"\\\1", line[pos:m.start()]))
        before, after = line[m.start() - 1:m.start()], line[m.end():m.end() + 1]
        out.append(("\\ " if before.isalnum() else "") + f"``{m.group(1)}``" + ("\\ " if after.isalnum() else ""))
        pos = m.end()
    return "".join(out) + _SPECIAL.sub(r"\\\1", line[pos:])


def docstring_as_markdown(app, what, name, obj, options, lines):
    """Docstrings are one-line markdown (nbdev style), and parameters are documented by trailing comments on the
    signature (docments): render the first as text with code, the second as a parameter list."""
    lines[:] = [md_to_rst(l) for l in lines]
    if what not in ("function", "method", "class"): return
    try: d = docments(obj, full=True)
    except Exception: return
    params = [(k, v["docment"]) for k, v in d.items() if k != "return" and v.get("docment")]
    ret = d.get("return", {}).get("docment")
    if params or ret:
        lines += [""] + [f":param {k}: {md_to_rst(doc)}" for k, doc in params] + ([f":returns: {md_to_rst(ret)}"] if ret else [])


def setup(app):
    app.connect("autodoc-process-docstring", docstring_as_markdown)
