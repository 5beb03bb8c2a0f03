"""The lab's kernel client (lab/kernel.py): replies polled in slices, the same messages and timeouts."""

from __future__ import annotations

import asyncio
import time
from queue import Empty

import pytest

from aagcn_lab.cli import run_notebook
from aagcn_lab.lab import kernel


def _channel(monkeypatch, replies):
    """A SlicedChannel whose underlying poll answers from ``replies`` (Empty after its slice, or a message)."""
    polls = []

    async def poll(self, timeout=None):
        polls.append(timeout)
        answer = replies.pop(0) if replies else Empty
        if answer is Empty:
            await asyncio.sleep(min(timeout, 0.01))  # a slice that saw nothing (fast: the test needs no real wait)
            raise Empty
        return answer

    monkeypatch.setattr(kernel.AsyncZMQSocketChannel, "get_msg", poll)
    return kernel.SlicedChannel.__new__(kernel.SlicedChannel), polls


def test_a_reply_a_slice_missed_is_returned_at_the_next_slice(monkeypatch):
    ch, polls = _channel(monkeypatch, [Empty, Empty, {"msg": "reply"}])
    assert asyncio.run(ch.get_msg(timeout=600)) == {"msg": "reply"}
    assert len(polls) == 3 and all(0 < p <= kernel.SLICE for p in polls)  # never one long wait


def test_the_deadline_is_kept_and_none_waits_on(monkeypatch):
    monkeypatch.setattr(kernel, "SLICE", 0.02)
    ch, polls = _channel(monkeypatch, [])
    t = time.perf_counter()
    with pytest.raises(Empty):
        asyncio.run(ch.get_msg(timeout=0.2))
    assert time.perf_counter() - t >= 0.2 - 1e-3 and polls[-1] < 0.02 + 1e-9  # Empty only once the deadline passed
    ch, polls = _channel(monkeypatch, [Empty] * 30 + [{"msg": "late"}])
    assert asyncio.run(ch.get_msg(timeout=None)) == {"msg": "late"} and len(polls) == 31  # no timeout: it waits on


def _notebook(nbformat, code: str):
    """A one-cell Python notebook (with the kernelspec papermill reads the language from to inject parameters)."""
    spec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)], metadata={"kernelspec": spec})


@pytest.mark.slow
def test_papermill_runs_a_notebook_through_the_sliced_client_and_a_cell_timeout_still_fires(tmp_path, monkeypatch):
    nbformat, papermill = pytest.importorskip("nbformat"), pytest.importorskip("papermill")
    seen = []
    parent = kernel.AsyncZMQSocketChannel.get_msg

    async def spy(self, timeout=None):
        if isinstance(self, kernel.SlicedChannel):  # shell and IOPub (stdin and control keep the plain channel)
            seen.append(timeout)
        return await parent(self, timeout=timeout)

    monkeypatch.setattr(kernel.AsyncZMQSocketChannel, "get_msg", spy)
    ok = tmp_path / "ok.ipynb"
    nbformat.write(_notebook(nbformat, "import time; time.sleep(2.5); print(x)"), ok)
    run_notebook.main([str(ok), str(tmp_path / "ok_out.ipynb"), "--parameters", '{"x": "done"}', "--cwd", str(tmp_path),
                 "--kernel", "python3", "--execution-timeout", "60"])  # the grader's child, here in-process  # fmt: skip
    out = nbformat.read(tmp_path / "ok_out.ipynb", as_version=4)
    assert out.cells[-1].outputs[0]["text"] == "done\n"  # the parameter was injected
    assert seen and None not in seen and max(seen) <= kernel.SLICE  # every wait on shell and IOPub was a slice
    slow = tmp_path / "slow.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time; time.sleep(60)")]), slow)
    t = time.perf_counter()
    with pytest.raises(Exception) as err:
        papermill.execute_notebook(str(slow), str(tmp_path / "slow_out.ipynb"), kernel_name="python3", progress_bar=False,
                                   execution_timeout=3, kernel_manager_class=kernel.SlicedKernelManager)  # fmt: skip
    assert "Timeout" in type(err.value).__name__  # nbclient's CellTimeoutError: what run_lab retries on
    assert time.perf_counter() - t < 30  # the cell timeout, not the cell's minute


@pytest.mark.slow
def test_the_graders_child_process_runs_papermill_with_the_sliced_client(tmp_path):
    """grade._papermill runs ``python -m aagcn_lab.cli.run_notebook``: a cell past its timeout is read from its log as
    a cell timeout (what the grader retries on), a finished notebook as ok."""
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("papermill")
    from aagcn_lab.lab import grade

    for name, code, want in [("ok", "print(x)", ("ok", "")), ("slow", "import time; time.sleep(60)", ("cell timed out", "a cell ran past 3 s"))]:
        nb = tmp_path / f"{name}.ipynb"
        nbformat.write(_notebook(nbformat, code), nb)
        (tmp_path / name).mkdir()
        t = time.perf_counter()
        assert grade._papermill(nb, tmp_path / name, {"x": 1}, "python3", 3, 120) == want
        assert time.perf_counter() - t < 60
