"""The notebook view: a Container shows itself in Jupyter as self-contained HTML."""

import base64
import io
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from PIL import Image

import raiiaf_workbench as rw
from conftest import FIXTURES, ROOT


def inline_images(html):
    return [Image.open(io.BytesIO(base64.b64decode(part.split('"', 1)[0]))) for part in html.split('src="data:image/png;base64,')[1:]]


def test_repr_html_has_the_verdict_picture_heatmaps_and_settings():
    container = rw.open(ROOT / "assets/examples/aurora.raiiaf")
    html = container._repr_html_()
    assert ">VALID<" in html and "<script" not in html
    assert container.model_info["prompt"].split()[0] in html
    images = inline_images(html)
    assert len(images) == 1 + min(len(container.latents), 4)
    assert max(images[0].size) == 256


def test_a_notebook_executed_headless_shows_the_view(tmp_path):
    damaged = bytearray((ROOT / "assets/examples/aurora.raiiaf").read_bytes())
    damaged[200] ^= 0xFF
    (tmp_path / "damaged.raiiaf").write_bytes(bytes(damaged))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import raiiaf_workbench as rw"),
        nbformat.v4.new_code_cell(f"rw.open({str(ROOT / 'assets/examples/aurora.raiiaf')!r})"),
        nbformat.v4.new_code_cell("rw.open('damaged.raiiaf', strict=False)"),
    ]
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    valid_html = notebook.cells[1].outputs[0]["data"]["text/html"]
    invalid_html = notebook.cells[2].outputs[0]["data"]["text/html"]
    assert ">VALID<" in valid_html and len(inline_images(valid_html)) >= 2
    assert ">INVALID<" in invalid_html and "Failed checks" in invalid_html
    out = os.environ.get("RAIIAF_NOTEBOOK_HTML")
    if out:
        # run.sh renders this page in Chromium for a screenshot.
        Path(out).write_text(f"<html><body style='background:#fff'>{valid_html}<hr/>{invalid_html}</body></html>")
