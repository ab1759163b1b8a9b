"""Build .ipynb files from percent-format sources: `# %%` starts a code cell, `# %% [md]` a markdown cell."""
import sys, json, re
from pathlib import Path
import nbformat
from nbformat.v4 import new_notebook, new_code_cell, new_markdown_cell

def build(src: Path, dst: Path):
    cells, kind, buf = [], None, []
    def flush():
        if kind is None: return
        lines = buf if kind == "code" else [l[2:] if l.startswith("# ") else "" if l == "#" else l for l in buf]
        text = "\n".join(lines).strip("\n")
        cells.append(new_markdown_cell(text) if kind == "md" else new_code_cell(text))
    for line in src.read_text().splitlines():
        m = re.match(r"^# %%( \[md\])?\s*$", line)
        if m:
            flush(); kind = "md" if m.group(1) else "code"; buf = []
        else: buf.append(line)
    flush()
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"display_name": "python3", "language": "python", "name": "python3"}})
    old = None
    if dst.exists():
        old = nbformat.read(dst, as_version=4)
        # keep outputs of unchanged code cells (slow notebooks commit outputs)
        prev = {c.source: c for c in old.cells if c.cell_type == "code"}
        for c in nb.cells:
            if c.cell_type == "code" and c.source in prev:
                c.outputs = prev[c.source].get("outputs", []); c.execution_count = prev[c.source].get("execution_count")
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)

for a in sys.argv[1:]:
    src = Path(a).resolve(); rel = src.relative_to("/tmp/nbsrc")
    build(src, Path("/work/main/nbs")/rel.with_suffix(".ipynb"))
