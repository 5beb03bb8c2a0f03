"""The lab: the notebooks run headless (:mod:`.runner`), and the helpers they call (:mod:`.notebook`).

``aagcn-lab lab`` executes ``notebooks/01_*.ipynb`` ... with papermill into a run folder (default
``runs/lab``): the executed notebooks, the figures they saved, the models they trained, and an
index (``index.md`` and ``results.json``) with the headline numbers. Papermill parameters reach
every notebook that declares them::

    aagcn-lab lab                                             # built-in dataset, CPU, minutes
    aagcn-lab lab -p epochs 2 --notebooks 01,02               # a quick look
    aagcn-lab lab -p preset aagcn_pyskl_ntu60_xsub_3dkp -p ann_file data/nturgbd/ntu60_3danno.pkl \\
                  -p nproc 8 --out runs/ntu60_xsub            # the full recipe on 8 GPUs

The notebooks share one run folder (``run_root``): notebook 03 trains the joint stream (or loads
``checkpoint``), 04 reuses it, 05 trains the other three streams, 06 fuses them -- each notebook
trains what it needs when it runs alone. Inside a notebook: ``from aagcn_lab import lab`` and
``lab.claim(...)``, ``lab.save_figure(...)``, ``lab.ensure_stream(...)``.

The notebooks ship with the package (``aagcn_lab.notebooks``): :func:`copy_notebooks` (``aagcn-lab
notebooks DEST``) copies them for a learner; :mod:`.grade` (``aagcn-lab grade``) runs students' copies
headless and grades every exercise.
"""

from .notebook import (
    PYSKL_NTU60_XSUB,
    ClaimError,
    DataUnavailable,
    claim,
    data_options,
    dataset_for,
    ensure_stream,
    ensure_streams,
    find_ucla,
    record,
    recorded_ucla_table,
    require_ucla,
    run_results,
    save_figure,
    scope_box,
    stream_root,
    training_options,
    warm_batch_norm,
)
from .runner import (
    LabResult,
    copy_notebooks,
    declared_parameters,
    installed_notebooks_dir,
    list_notebooks,
    notebooks_dir,
    run_lab,
    write_index,
)

__all__ = [
    "PYSKL_NTU60_XSUB",
    "ClaimError",
    "DataUnavailable",
    "find_ucla",
    "recorded_ucla_table",
    "require_ucla",
    "LabResult",
    "claim",
    "copy_notebooks",
    "data_options",
    "dataset_for",
    "declared_parameters",
    "ensure_stream",
    "ensure_streams",
    "installed_notebooks_dir",
    "list_notebooks",
    "notebooks_dir",
    "record",
    "run_lab",
    "run_results",
    "save_figure",
    "scope_box",
    "stream_root",
    "training_options",
    "warm_batch_norm",
    "write_index",
]
