"""The course in a box: the notebooks ship with the package, ``aagcn-lab notebooks DEST`` copies them, and they
run from the copy against the installed package; each notebook's first cell says what to install when
something is missing, and the widget cells fall back to static figures without ipywidgets.

Slow tier: a wheel built from the repository, installed into a fresh venv (offline), the notebooks copied
outside the repository with that venv's ``aagcn-lab notebooks``, and 01, 02b and 04 executed there."""

from __future__ import annotations

import ast
import builtins
import fnmatch
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from unittest import mock

import pytest

from aagcn_lab import cli
from aagcn_lab.data.validate import InputError
from aagcn_lab.lab import runner
from aagcn_lab.lab.runner import copy_notebooks, list_notebooks

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = list_notebooks(REPO / "notebooks")


def _code(nb: Path) -> list[str]:
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


# ------------------------------------------------------------------------------------------------
# Packaging
# ------------------------------------------------------------------------------------------------


def test_the_build_finds_every_package_and_ships_every_numbered_notebook_and_nothing_else():
    """setup.py gives setuptools the packages: every folder of aagcn_lab/ with files in it (found, so that a new
    subpackage ships without a list to update), plus aagcn_lab.notebooks mapped to notebooks/, whose package
    data (pyproject.toml) are the numbered notebooks."""
    tomllib = pytest.importorskip("tomllib")
    import runpy

    with mock.patch("setuptools.setup") as setup:
        runpy.run_path(str(REPO / "setup.py"))
    given = setup.call_args.kwargs
    folders = {".".join(p.relative_to(REPO).parts) for p in (REPO / "aagcn_lab").rglob("*")
               if p.is_dir() and p.name != "__pycache__" and any(f.is_file() for f in p.iterdir())}  # fmt: skip
    assert sorted(given["packages"]) == sorted({"aagcn_lab", *folders, "aagcn_lab.notebooks"})
    assert given["package_dir"] == {"aagcn_lab.notebooks": "notebooks"}
    assert (REPO / "notebooks" / "__init__.py").is_file()  # so that an editable install finds the package too
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["aagcn_lab.notebooks"]
    shipped = sorted(p.name for p in (REPO / "notebooks").iterdir() if any(fnmatch.fnmatch(p.name, pat) for pat in patterns))
    assert shipped == [nb.name for nb in NOTEBOOKS] and len(shipped) >= 10


def test_notebooks_dir_prefers_a_clone_and_falls_back_to_the_installed_notebooks(tmp_path, monkeypatch):
    installed = tmp_path / "site" / "aagcn_lab" / "notebooks"
    installed.mkdir(parents=True)
    shutil.copy(NOTEBOOKS[0], installed)
    assert runner.notebooks_dir() == REPO / "notebooks"  # this clone
    monkeypatch.setattr(runner, "_CLONE_NOTEBOOKS", tmp_path / "no-clone" / "notebooks")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runner, "installed_notebooks_dir", lambda: installed)
    assert runner.notebooks_dir() == installed
    monkeypatch.setattr(runner, "installed_notebooks_dir", lambda: None)
    with pytest.raises(FileNotFoundError, match="reinstall aagcn-lab"):
        runner.notebooks_dir()


# ------------------------------------------------------------------------------------------------
# aagcn-lab notebooks DEST
# ------------------------------------------------------------------------------------------------


def test_copy_notebooks_copies_them_all_with_their_run_folder_inside_the_copy(tmp_path, capsys):
    assert cli.main(["notebooks", str(tmp_path / "my-lab")]) == 0
    out = capsys.readouterr().out
    copied = sorted(p.name for p in (tmp_path / "my-lab").iterdir())
    assert copied == [nb.name for nb in NOTEBOOKS]  # the notebooks and nothing else (no __init__.py)
    assert all(f"copied      {tmp_path / 'my-lab' / name}" in out for name in copied)
    for nb in NOTEBOOKS:
        orig, copy = nb.read_text(encoding="utf-8"), (tmp_path / "my-lab" / nb.name).read_text(encoding="utf-8")
        if '"run_root = \\"../runs/lab\\"' in orig:  # the clone's default: <repository>/runs/lab
            assert copy == orig.replace('"run_root = \\"../runs/lab\\"', '"run_root = \\"runs/lab\\"', 1), nb.name
        else:
            assert copy == orig, nb.name
        params = [c for c in json.loads(copy)["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert "../" not in "".join(params[0]["source"]).split("\n")[0], nb.name
    assert cli.main(["notebooks", str(tmp_path / "my-lab"), "--only", "01"]) == 0
    assert "unchanged" in capsys.readouterr().out


def test_copy_notebooks_keeps_a_learners_edits_unless_forced(tmp_path, capsys):
    dest = tmp_path / "my-lab"
    copy_notebooks(dest, only=["01", "02b", "04"])
    mine = dest / "02b_build_one_block.ipynb"
    mine.write_text(mine.read_text().replace("raise NotImplementedError", "return 42"))
    edited = mine.read_text()
    (dest / "04_attention_maps.ipynb").unlink()
    code = cli.main(["notebooks", str(dest), "--only", "01,02b,04"])
    err = capsys.readouterr().err
    assert code == 2 and "02b_build_one_block.ipynb" in err and "--force" in err and "Traceback" not in err
    assert mine.read_text() == edited and not (dest / "04_attention_maps.ipynb").exists()  # nothing was written
    done = copy_notebooks(dest, force=True, only=["01", "02b", "04"])
    assert done == {"copied": [dest / "04_attention_maps.ipynb"], "unchanged": [dest / "01_skeleton_data_and_graphs.ipynb"],
                    "overwritten": [mine]}  # fmt: skip
    assert "return 42" not in mine.read_text()
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(InputError, match="a-file is a file, not a folder"):
        copy_notebooks(tmp_path / "a-file")


def test_no_notebook_reads_a_path_of_the_clone_without_a_fallback():
    """Outside a clone ``../shared``, ``../data`` and the like are absent: a code cell that names such a path (a
    string or ``Path("..")``) must test for it (``exists``/``is_dir``/``find_``/``require_``) in the same cell, or
    be a default of the ``parameters`` cell (``run_root``: given by the lab, ``runs/lab`` in a copy)."""
    unguarded = []
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            src = "".join(cell["source"])
            if cell["cell_type"] != "code" or "parameters" in cell["metadata"].get("tags", []):
                continue
            names_clone = any(s in src for s in ('"../', "'../", 'Path("..")', "scripts/", "tests/", '"runs/', "'runs/"))
            if names_clone and not any(g in src for g in (".exists()", ".is_dir()", "find_", "require_")):
                unguarded.append(f"{nb.name} cell {i}")
    assert not unguarded, unguarded


# ------------------------------------------------------------------------------------------------
# The first cell: what to install; widgets degrade without ipywidgets
# ------------------------------------------------------------------------------------------------


def _run_first_cell(nb: Path, missing: set[str], capsys) -> tuple[dict, str, BaseException | None]:
    """Execute the notebook's first code cell as if the modules in ``missing`` were not installed."""
    real = importlib.util.find_spec
    ns: dict = {}
    error = None
    with mock.patch.object(importlib.util, "find_spec", lambda name, *a: None if name in missing else real(name, *a)):
        try:
            exec(compile(_code(nb)[0], f"{nb.name}: first cell", "exec"), ns)
        except Exception as e:  # what the learner sees
            error = e
    return ns, capsys.readouterr().out, error


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_first_cell_says_what_to_install(nb, capsys):
    code = [c for c in json.loads(nb.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    assert "parameters" not in code[0]["metadata"].get("tags", []) and len(_code(nb)[0].splitlines()) <= 12, nb.name
    ns, out, error = _run_first_cell(nb, set(), capsys)
    assert (out, error, ns["HAVE_WIDGETS"]) == ("", None, True)  # all there: silent
    ns, out, error = _run_first_cell(nb, {"ipywidgets"}, capsys)
    assert error is None and ns["HAVE_WIDGETS"] is False and '%pip install "ipywidgets>=8"' in out and "restart the kernel" in out
    ns, out, error = _run_first_cell(nb, {"aagcn_lab", "ipywidgets"}, capsys)
    assert '%pip install "aagcn-lab[notebooks]"' in out and sys.executable in out and "restart the kernel" in out
    assert isinstance(error, ModuleNotFoundError) and "install it as printed above" in str(error)  # the notebook stops here


def _free_names(src: str) -> set[str]:
    """Names a cell reads that it does not define (from earlier cells)."""
    tree = ast.parse(src)
    loads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    defined = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    defined |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    defined |= {a.arg for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Lambda)) for a in n.args.args}
    defined |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    return loads - defined - set(dir(builtins))


WIDGET_CELLS = [(nb, src) for nb in NOTEBOOKS for src in _code(nb)[1:] if "ipywidgets" in src or "_explorer(" in src or "skeleton_player(" in src]


def test_there_are_widget_cells():
    assert {nb.name[:2] for nb, _ in WIDGET_CELLS} >= {"04"}


@pytest.mark.parametrize("nb, src", WIDGET_CELLS, ids=lambda v: v.stem if isinstance(v, Path) else "")
def test_a_widget_cell_falls_back_to_its_static_figure_without_ipywidgets(nb, src, monkeypatch, capsys):
    """With ipywidgets absent (an import of it fails), the cell runs without error and builds no widget; the
    notebook's values from earlier cells stand as mocks."""
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # `import ipywidgets` raises ImportError
    ns, _, error = _run_first_cell(nb, {"ipywidgets"}, capsys)
    assert error is None and ns["HAVE_WIDGETS"] is False
    ns.update({name: mock.MagicMock(name=name) for name in _free_names(src) - set(ns)})
    exec(compile(src, f"{nb.name}: widget cell", "exec"), ns)
    viz = ns.get("viz")
    if viz is not None:
        assert not [c for c in viz.mock_calls if "explorer" in str(c[0]) or "player" in str(c[0])], viz.mock_calls
    # with ipywidgets, the same cell builds its explorer
    ns["HAVE_WIDGETS"] = True
    if "_explorer(" in src:
        exec(compile(src, f"{nb.name}: widget cell", "exec"), ns)
        assert [c for c in ns["viz"].mock_calls if "explorer" in str(c[0])]
    capsys.readouterr()


# ------------------------------------------------------------------------------------------------
# Slow: a wheel in a fresh venv, the notebooks copied outside the repository and run there
# ------------------------------------------------------------------------------------------------


def _run(cmd: list, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_the_wheel_installs_offline_and_its_notebooks_run_from_a_copy_outside_the_repository(tmp_path):
    """Build the wheel (from a clean copy of the repository: no stale build/ folder), install it into a fresh
    venv without any download (``pip install --no-index --no-deps``; the dependencies come from this venv's
    site-packages through a ``.pth`` file, added after the install so that pip never sees this venv's
    editable aagcn-lab), copy the notebooks with that venv's ``aagcn-lab notebooks`` and execute 01, 02b and
    04 there with papermill on small parameters, their run folder the copy's own ``runs/lab``."""
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".venv", ".git", "runs", "build", "dist", "work_dirs", "*.egg-info",
                                                              "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", ".ipynb_checkpoints"))  # fmt: skip
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", src, "-w", tmp_path / "wheel"], tmp_path)
    [wheel] = (tmp_path / "wheel").glob("aagcn_lab-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-index", "--no-deps", wheel], tmp_path)
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout.strip())
    (site / "_aagcn_lab_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # torch, numpy, papermill ...: this venv's

    work = tmp_path / "elsewhere"  # outside the repository: no clone to find
    work.mkdir()
    where = _run([python, "-c", "import aagcn_lab, aagcn_lab.lab as lab; print(aagcn_lab.__file__); print(lab.notebooks_dir())"], work)
    package, folder = where.stdout.split()
    assert Path(package).is_relative_to(site) and Path(folder) == site / "aagcn_lab" / "notebooks"
    copied = _run([venv / "bin" / "aagcn-lab", "notebooks", "my-lab"], work)
    assert str(site / "aagcn_lab" / "notebooks") in copied.stdout
    lab = work / "my-lab"
    assert sorted(p.name for p in lab.iterdir()) == [nb.name for nb in NOTEBOOKS]

    # the installed package's own runner, on the copy (cwd: the copy), small parameters; its cell timeout and one
    # more try are for nbclient's known widget-cell hang (notebook 04's dropdown, seen in this test)
    out = work / "lab-run"
    lab_cmd = [venv / "bin" / "aagcn-lab", "lab", "--notebooks-dir", lab, "--notebooks", "01,02b,04", "--out", out, "--cell-timeout", "300",
               "-p", "solutions", "true", "-p", "epochs", "1", "-p", "options", '{"test_clips": 2}', "-p", "samples_per_class", "2"]  # fmt: skip
    _run(lab_cmd, work, timeout=2400)
    ran = json.loads((out / "results.json").read_text())["notebooks"]
    assert [(nb["name"][:3], nb["status"]) for nb in ran] == [("01_", "ok"), ("02b", "ok"), ("04_", "ok")], ran
    for nb in ran:
        executed = json.loads((out / "notebooks" / nb["name"]).read_text())
        outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
        assert not [o for o in outputs if o["output_type"] == "error"], nb["name"]
        assert not executed["cells"][1].get("outputs"), nb["name"]  # the setup check: everything installed, nothing said
    records = sorted(p.stem for p in (out / "exercises").glob("*.json"))
    assert records == ["01_skeleton_graphs", "02b_build_one_block", "04_attention_maps"]
    assert not (work / "runs").exists() and not (lab / "runs").exists()  # nothing written beside or into the copy
