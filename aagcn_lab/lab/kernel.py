"""The kernel client of the lab's headless runs: replies polled in slices, so a missed wake-up costs a second.

nbclient (under papermill) waits for a cell's ``execute_reply`` with one
``shell_channel.get_msg(timeout=...)``. After a cell that shows ipywidgets, that wait sometimes misses
the reply's arrival (nbclient issue #312): the kernel is idle, the reply is queued, and the client
sleeps until the cell timeout runs out, when the poll's last check finds the reply. In the lab's
test run notebook 04's widget cell took 630 s that way, with ``--cell-timeout 600``; without a cell
timeout it would wait forever.

:class:`SlicedKernelManager` hands papermill kernel clients whose shell and IOPub channels poll in
slices of at most :data:`SLICE` seconds up to the same deadline: the same messages, the same
timeouts (``queue.Empty`` once the deadline has passed, never before), and a missed wake-up found
at the end of the slice it happened in. :func:`~aagcn_lab.lab.runner.run_lab` runs every notebook
with it; the grader (:mod:`aagcn_lab.lab.grade`) runs each student's notebook in a process of its own
through ``python -m aagcn_lab.cli.run_notebook``, papermill's command line with this client.
"""

from __future__ import annotations

from collections.abc import Mapping
from queue import Empty
from time import monotonic
from typing import Any

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

__all__ = ["SLICE", "SlicedChannel", "SlicedKernelClient", "SlicedKernelManager", "execute_notebook"]

SLICE = 1.0  # seconds of one poll


class SlicedChannel(AsyncZMQSocketChannel):
    """A socket channel whose ``get_msg(timeout)`` polls in slices of at most :data:`SLICE` seconds."""

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        """The next message; ``queue.Empty`` once ``timeout`` seconds have passed without one (``None``: wait on)."""
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            left = SLICE if deadline is None else min(SLICE, max(0.0, deadline - monotonic()))
            try:
                return await super().get_msg(timeout=left)
            except Empty:
                if deadline is not None and monotonic() >= deadline:
                    raise


class SlicedKernelClient(AsyncKernelClient):
    """An async kernel client whose shell and IOPub channels are :class:`SlicedChannel`."""

    shell_channel_class = Type(SlicedChannel)  # type: ignore[assignment]
    iopub_channel_class = Type(SlicedChannel)  # type: ignore[assignment]


class SlicedKernelManager(AsyncKernelManager):
    """An async kernel manager that makes :class:`SlicedKernelClient` clients (papermill's ``kernel_manager_class``)."""

    client_class = DottedObjectName("aagcn_lab.lab.kernel.SlicedKernelClient")
    client_factory = Type(SlicedKernelClient)  # what client() makes (AsyncKernelManager sets it, not from client_class)


def execute_notebook(notebook: str, output: str, parameters: Mapping[str, Any], kernel: str | None, cwd: str | None,
                     timeout: float | None) -> None:  # fmt: skip
    """``papermill.execute_notebook`` through :class:`SlicedKernelManager`, without a progress bar (``timeout``:
    seconds one cell may run); papermill's errors propagate."""
    import papermill

    papermill.execute_notebook(notebook, output, parameters=dict(parameters), kernel_name=kernel, cwd=cwd, progress_bar=False,
                               execution_timeout=timeout, kernel_manager_class=SlicedKernelManager)  # fmt: skip
