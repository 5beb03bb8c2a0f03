"""JupyterLab in a real browser: notebook 04's attention explorer reacts to a slider.

Opt-in (``pytest -m browser``; ``make test-browser``; ``.ci/run`` runs it when Chromium is
installed). Needs Chromium on the PATH (``apt-get install chromium``) and the Python
``playwright`` package; no browser download. A screenshot of the explorer after the slider moved
is saved to ``$AAGCN_ARTIFACTS`` (default ``runs/artifacts``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "aagcn-lab-browser-test"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("no Chromium on the PATH (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab_folder(tmp_path_factory) -> Path:
    """A folder with notebook 04, its parameters pointing at a model trained for a few steps."""
    import papermill

    from aagcn_lab.train import preset, train

    root = tmp_path_factory.mktemp("browser")
    cfg = preset("builtin_j", work_dir=str(root / "run"), max_steps=3, test_after=False, progress=False, val_interval=1)
    train(cfg)
    ckpt = next(p for p in (root / "run" / "best.pt", root / "run" / "latest.pt") if p.exists())
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "04_attention_maps.ipynb"), str(root / "04_attention_maps.ipynb"),
        parameters={"run_root": str(root / "lab"), "checkpoint": str(ckpt), "samples_per_class": 2},
        prepare_only=True, progress_bar=False,
    )  # fmt: skip
    return root


@pytest.fixture(scope="module")
def jupyter(lab_folder: Path):
    """A fresh JupyterLab server on 127.0.0.1 with a token (killed afterwards)."""
    port = _free_port()
    settings = lab_folder / "lab-settings"
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false", "checkForUpdates": false}')  # no news toast over the figure
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTER_CONFIG_DIR": str(lab_folder / "cfg")}
    log = open(lab_folder / "jupyter.log", "w")  # closed in the finally below
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={lab_folder}",
         "--LabApp.expose_app_in_browser=True", "--allow-root"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if server.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {(lab_folder / 'jupyter.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("jupyter lab did not start in 60 s")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


_PLOTTED_JS = """() => {
  const gd = document.querySelector('.jp-OutputArea-output .js-plotly-plot');
  if (!gd || !gd.data) return null;
  const joints = gd.data.find(t => t.name === 'person 0 joints');
  if (!joints) return null;
  // plotly.py sends arrays base64-encoded ({dtype, bdata}); keep those as their encoded string
  const list = v => (v === undefined || v === null || typeof v === 'string') ? v
    : (v.bdata !== undefined ? v.dtype + ':' + v.bdata : Array.from(v));
  return {joints: {x: list(joints.x), y: list(joints.y), color: list(joints.marker && joints.marker.color)}};
}"""


def _plotted(page) -> dict | None:
    """The explorer's plotted data (person 0's joint positions and attention colours), read from plotly's div."""
    return page.evaluate(_PLOTTED_JS)


def test_attention_explorer_redraws_when_the_sample_slider_moves(jupyter: str, lab_folder: Path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    artifacts = Path(os.environ.get("AAGCN_ARTIFACTS", ROOT / "runs" / "artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        try:
            page.goto(f"{jupyter}/lab/tree/04_attention_maps.ipynb?token={TOKEN}&reset")
            page.wait_for_selector("text=| Idle", timeout=120_000)  # before this, keystrokes are lost
            page.wait_for_function("() => window.jupyterapp !== undefined", timeout=30_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            title = page.locator(".jp-OutputArea-output .js-plotly-plot .gtitle").first
            title.wait_for(timeout=240_000)
            before = title.text_content()
            assert "sample 0" in before, before
            drawn = _plotted(page)
            assert drawn and drawn["joints"]["x"] and drawn["joints"]["color"], drawn
            slider = page.locator('.jp-OutputArea-output .widget-slider [role="slider"]').first
            slider.scroll_into_view_if_needed()
            slider.focus()
            for _ in range(2):
                slider.press("ArrowRight")
            page.wait_for_function(
                "() => { const t = document.querySelector('.jp-OutputArea-output .js-plotly-plot .gtitle');"
                " return t !== null && t.textContent.includes('sample 2'); }",
                timeout=60_000,
            )
            after = title.text_content()
            assert after != before and "sample 2" in after, (before, after)
            # what is drawn changed with the sample: another skeleton, coloured by its own attention
            moved = _plotted(page)
            assert moved["joints"]["x"] != drawn["joints"]["x"] or moved["joints"]["y"] != drawn["joints"]["y"]
            assert moved["joints"]["color"] != drawn["joints"]["color"]
            title.scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / "browser_attention_explorer.png"))
        except Exception:
            page.screenshot(path=str(artifacts / "browser_attention_explorer_failure.png"))
            raise
        finally:
            browser.close()
