"""The papermill runner: execute the numbered notebooks headless into one run folder, then index it.

:func:`run_lab` executes ``notebooks/01_*.ipynb`` ... in order with papermill into ``out_dir``
(default ``runs/lab``): the executed notebooks, the figures they saved, the models they trained,
and an index (``index.md`` and ``results.json``) with the headline numbers. A parameter reaches
every notebook whose cell tagged ``parameters`` declares it (:func:`declared_parameters`); the
others are named as not used. A parameter's type is its default's in that cell (``solutions =
False``: bool, ``epochs = 0``: int): :func:`parse_parameter` reads a command line's text as that
type (a bool from True/False/true/false/1/0) and :func:`run_lab` refuses a value of another type
before any notebook runs, naming the parameter, the type and the notebooks that declare it.
``aagcn-lab lab`` (:mod:`aagcn_lab.cli.lab`) is its command line.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "notebooks_dir",
    "installed_notebooks_dir",
    "copy_notebooks",
    "list_notebooks",
    "declared_parameters",
    "parameter_types",
    "parse_parameter",
    "check_parameters",
    "LabResult",
    "run_lab",
    "write_index",
]


_PATTERN = "[0-9][0-9]*_*.ipynb"  # 01_..., 02b_... (a number, optionally a letter, then the name)


_CLONE_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"  # a clone's folder, next to the package


def installed_notebooks_dir() -> Path | None:
    """Where the notebooks installed with the package are (the package ``aagcn_lab.notebooks``), ``None`` if absent."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("aagcn_lab.notebooks")
    except (ImportError, ValueError):
        return None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(folders[0]) if folders else None


def notebooks_dir() -> Path:
    """The numbered notebooks: a clone's ``notebooks/`` folder (next to the package, or under the current
    folder), else the copies installed with the package (``aagcn_lab.notebooks``)."""
    for cand in (_CLONE_NOTEBOOKS, Path.cwd() / "notebooks", installed_notebooks_dir()):
        if cand is not None and cand.is_dir() and list(cand.glob(_PATTERN)):
            return cand
    raise FileNotFoundError(
        "cannot find the notebooks: no notebooks/ folder of a clone here, and the installed package has none "
        "(reinstall aagcn-lab); run from the repository root or pass --notebooks-dir"
    )


def list_notebooks(folder: str | os.PathLike | None = None, only: Sequence[str] | None = None) -> list[Path]:
    """The numbered notebooks, in order (``only``: numbers or names to keep, e.g. ['01', '02b', '04']; a
    number is the part of the name before the first ``_``, so '02' does not select '02b')."""
    nbs = sorted(Path(folder or notebooks_dir()).glob(_PATTERN))
    if only:
        wanted = {str(o).zfill(2) if str(o).isdigit() else str(o) for o in only}
        nbs = [nb for nb in nbs if nb.name.split("_")[0] in wanted or nb.stem in wanted or nb.name in wanted]
        if not nbs:
            raise FileNotFoundError(f"no notebook matches {', '.join(only)}")
    return nbs


# the copies keep their run folder beside them (a clone's notebooks share <repository>/runs/lab with `aagcn-lab lab`)
_CLONE_RUN_ROOT = re.compile(r"""^run_root = (["'])\.\./runs/lab\1""", re.M)


def _copy_text(nb: Path) -> str:
    """A notebook as ``aagcn-lab notebooks`` writes it: the same, but for the default ``run_root`` of its
    ``parameters`` cell, ``runs/lab`` (inside the copy's folder) instead of the clone's ``../runs/lab``."""
    text = nb.read_text(encoding="utf-8")
    data = json.loads(text)
    for cell in data["cells"]:
        if cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if _CLONE_RUN_ROOT.search(source):
                cell["source"] = _CLONE_RUN_ROOT.sub('run_root = "runs/lab"', source).splitlines(keepends=True)
                return json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    return text


def copy_notebooks(
    dest: str | os.PathLike, force: bool = False, only: Sequence[str] | None = None, folder: str | os.PathLike | None = None
) -> dict[str, list[Path]]:
    """Copy the numbered notebooks (:func:`notebooks_dir`, or ``folder``; ``only``: numbers or names) into ``dest``.

    A notebook already in ``dest`` that differs from the course's copy (a learner's edits) is kept: unless
    ``force``, :class:`InputError` names every such file before anything is written. Returns the paths by
    what happened to them: ``copied``, ``unchanged`` (already the same), ``overwritten`` (``force``)."""
    from ..data.validate import InputError

    out = Path(dest)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file, not a folder: give a folder to copy the notebooks into")
    plan = {nb.name: _copy_text(nb) for nb in list_notebooks(folder, only)}
    edited = [out / name for name, text in plan.items() if (out / name).exists() and (out / name).read_text(encoding="utf-8", errors="replace") != text]
    if edited and not force:
        raise InputError(
            f"{len(edited)} notebook(s) in {out} differ from the course's copies (your edits?): "
            + ", ".join(p.name for p in edited) + "; nothing was copied. Pass --force to overwrite them, or copy into another folder"
        )
    done: dict[str, list[Path]] = {"copied": [], "unchanged": [], "overwritten": []}
    out.mkdir(parents=True, exist_ok=True)
    for name, text in plan.items():
        target = out / name
        kind = "overwritten" if target in edited else "unchanged" if target.exists() else "copied"
        if kind != "unchanged":
            tmp = target.with_name(f".{name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)  # never a half-written notebook
        done[kind].append(target)
    return done


@dataclass
class LabResult:
    """Where the lab wrote everything, and what each notebook reported."""

    out_dir: Path
    notebooks: list[dict] = field(default_factory=list)  # name, status, seconds, output, error
    results: dict[str, dict] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every notebook ran without an error (a notebook skipped for want of its data is no error)."""
        return all(nb["status"] in ("ok", "skipped") for nb in self.notebooks)


def parameter_types(nb: Path) -> dict[str, type | None]:
    """Each name assigned in the notebook's cell tagged ``parameters`` (read with ``ast``: exact) and the
    type of its default (``None`` where the default is not a literal, or is ``None``)."""
    import ast

    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    types: dict[str, type | None] = {}
    for cell in cells:
        if cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for node in ast.parse(source).body:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
                try:
                    default = ast.literal_eval(node.value) if getattr(node, "value", None) is not None else None
                except ValueError:  # an expression, not a literal: any value goes
                    default = None
                for t in targets:
                    if isinstance(t, ast.Name):
                        types[t.id] = type(default) if default is not None else None
    return types


def declared_parameters(nb: Path) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters`` (read with ``ast``: exact)."""
    return set(parameter_types(nb))


def _fits(value: Any, typ: type) -> bool:
    """Whether ``value`` may stand for a default of type ``typ`` (an int for a float; a bool for nothing else)."""
    if isinstance(value, bool) and typ is not bool:
        return False
    return isinstance(value, typ) or (typ is float and isinstance(value, int))


def _declaring(name: str, notebooks: Sequence[Path]) -> dict[type, list[str]]:
    """``{type: [notebook names]}`` of the notebooks that declare ``name`` with a literal default."""
    out: dict[type, list[str]] = {}
    for nb in notebooks:
        typ = parameter_types(nb).get(name)
        if typ is not None:
            out.setdefault(typ, []).append(nb.name)
    return out


def parse_parameter(name: str, text: str, notebooks: Sequence[str | os.PathLike]) -> Any:
    """The value of ``-p NAME TEXT``, read as the type ``notebooks`` declare for ``name`` (a bool from
    True/False/true/false/1/0; a str as it is; int, float, list, dict as JSON); a parameter that no
    notebook types is JSON when it parses, else the text. :class:`InputError` names the parameter,
    the type and the notebooks."""
    from ..data.validate import InputError

    declared = _declaring(name, [Path(nb) for nb in notebooks])
    try:
        untyped = json.loads(text)
    except json.JSONDecodeError:
        untyped = text
    value = untyped
    for typ, names in declared.items():
        if typ is str:
            value = untyped if isinstance(untyped, str) and text.strip().startswith('"') else text
        elif typ is bool:
            value = {"true": True, "1": True, "false": False, "0": False}.get(text.strip().lower(), text)
        else:
            value = float(untyped) if typ is float and _fits(untyped, float) else untyped
        if not _fits(value, typ):
            accepts = "True/False/true/false/1/0" if typ is bool else "JSON" if typ in (list, dict) else "a number" if typ is float else "an integer"
            raise InputError(f"-p {name} {text!r}: expected {typ.__name__} ({accepts}), as declared in {', '.join(names)}")
    return value


def check_parameters(parameters: Mapping[str, Any], notebooks: Sequence[str | os.PathLike]) -> None:
    """Refuse (:class:`InputError`) a parameter value whose type is not the one ``notebooks`` declare for it."""
    from ..data.validate import InputError

    for name, value in parameters.items():
        for typ, names in _declaring(name, [Path(nb) for nb in notebooks]).items():
            if not _fits(value, typ):
                raise InputError(
                    f"parameter {name!r} = {value!r} is a {type(value).__name__}; expected {typ.__name__}, as declared in {', '.join(names)}"
                )


def run_lab(
    out_dir: str | os.PathLike = "runs/lab",
    parameters: Mapping[str, Any] | None = None,
    notebooks: Sequence[str] | None = None,
    notebooks_folder: str | os.PathLike | None = None,
    kernel: str = "python3",
    stop_on_error: bool = False,
    quiet: bool = False,
    cell_timeout: int | None = None,
    timeout_retries: int = 1,
) -> LabResult:
    """Execute the notebooks with papermill into ``out_dir``; write ``index.md`` and ``results.json``.

    ``cell_timeout`` (seconds, default none) fails a cell that runs longer, instead of waiting forever;
    a notebook whose cell timed out runs again, up to ``timeout_retries`` times (said, and counted in
    the index as ``retried``). That is for a known client-side hang (nbclient, a cell with widgets:
    the kernel idle, the client still waiting for its reply); an error in a cell is never retried.
    """
    import papermill  # noqa: F401  (absent papermill fails here, before any folder is made)

    from ..runtime import thread_policy_environ
    from .kernel import execute_notebook

    out = Path(out_dir).resolve()
    folder = Path(notebooks_folder or notebooks_dir())
    chosen = list_notebooks(folder, notebooks)
    check_parameters(parameters or {}, chosen)  # before any notebook runs
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    params = {"run_root": str(out), **(parameters or {})}
    result = LabResult(out)
    for nb in chosen:
        declared = declared_parameters(nb)
        unknown = sorted(set(params) - declared - {"run_root"})
        given = {k: v for k, v in params.items() if k in declared}
        target = out / "notebooks" / nb.name
        if not quiet:
            extra = f" (not used here: {', '.join(unknown)})" if unknown else ""
            print(f"[lab] {nb.name} ...{extra}", flush=True)
        t0 = time.perf_counter()
        entry = {"name": nb.name, "output": str(target), "parameters": given}
        retried = 0
        while True:
            try:
                with thread_policy_environ():  # the kernel's OpenMP threads wait without spinning (see aagcn_lab.runtime)
                    execute_notebook(str(nb), str(target), given, kernel, str(folder), cell_timeout)  # replies polled in slices
                entry["status"] = "ok"
            except Exception as e:  # papermill raises PapermillExecutionError with the cell's traceback
                if "Timeout" in type(e).__name__ and retried < timeout_retries:  # nbclient's CellTimeoutError
                    retried += 1
                    print(f"[lab] {nb.name}: a cell ran past {cell_timeout} s ({type(e).__name__}); running the notebook again",
                          file=sys.stderr, flush=True)
                    continue
                if getattr(e, "ename", "") == "DataUnavailable":  # lab.require_ucla & co: the notebook's data is absent
                    entry["status"], entry["reason"] = "skipped", str(getattr(e, "evalue", e))
                    if not quiet:
                        print(f"[lab] {nb.name} skipped: {entry['reason']}", flush=True)
                    break
                entry["status"] = "error"
                entry["error"] = f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else e}"
                if not quiet:
                    print(f"[lab] {nb.name} failed: {entry['error']} (see {target})", file=sys.stderr, flush=True)
            break
        if retried:
            entry["retried"] = retried
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        result.notebooks.append(entry)
        if not quiet and entry["status"] == "ok":
            print(f"[lab] {nb.name} done in {entry['seconds']:.0f} s", flush=True)
        if entry["status"] == "error" and stop_on_error:
            break
    for f in sorted((out / "results").glob("*.json")):
        result.results[f.stem] = json.loads(f.read_text())
    result.figures = sorted((out / "figures").glob("*.png"))
    write_index(result)
    return result


def write_index(result: LabResult) -> None:
    """Write ``index.md`` and ``results.json`` of a lab run into its folder."""
    out = result.out_dir
    (out / "results.json").write_text(
        json.dumps(
            {"notebooks": result.notebooks, "results": result.results, "figures": [str(f.relative_to(out)) for f in result.figures]},
            indent=2,
            default=float,
        )
    )
    lines = ["# aagcn_lab run", "", f"Folder: `{out}`", "", "## Notebooks", ""]
    for nb in result.notebooks:
        status = {"ok": "ok", "skipped": f"skipped: {nb.get('reason', '')}"}.get(nb["status"], f"**failed**: {nb.get('error', '')}")
        lines.append(f"- [{nb['name']}](notebooks/{nb['name']}) -- {status} ({nb['seconds']:.0f} s)")
    lines += ["", "## Results", ""]
    for name, res in result.results.items():
        lines.append(f"### {name}")
        for k, v in res.items():
            lines.append(f"- {k}: {v:.4f}" if isinstance(v, float) else f"- {k}: {json.dumps(v, default=float)}")
        lines.append("")
    lines += ["## Figures", ""]
    for f in result.figures:
        rel = f.relative_to(out)
        lines += [f"### {f.stem}", "", f"![{f.stem}]({rel})", ""]
    (out / "index.md").write_text("\n".join(lines))
