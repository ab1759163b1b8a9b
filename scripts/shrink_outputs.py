"""Shrink the committed outputs of notebooks: re-encode every PNG figure with a 256-colour palette (visually the same
for these line plots and heatmaps, often a third of the size). Usage: python scripts/shrink_outputs.py NB [NB ...]"""
import base64, io, json, sys
from pathlib import Path

from PIL import Image


def shrink_png(data: str) -> str:
    "A base64 PNG re-encoded with an adaptive 256-colour palette, or the original when that is not smaller."
    raw = base64.b64decode(data)
    im = Image.open(io.BytesIO(raw))
    pal = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO(); pal.save(out, format="PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode() if out.tell() < len(raw) else data


def shrink_notebook(path: Path) -> tuple[int, int]:
    "Re-encode the notebook's PNG outputs in place; (bytes before, bytes after)."
    before = path.stat().st_size
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            d = out.get("data", {})
            if "image/png" in d:
                png = d["image/png"]
                d["image/png"] = shrink_png("".join(png) if isinstance(png, list) else png)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return before, path.stat().st_size


if __name__ == "__main__":
    for p in sys.argv[1:]:
        a, b = shrink_notebook(Path(p))
        print(f"{p}: {a / 1e6:.2f} MB -> {b / 1e6:.2f} MB")
