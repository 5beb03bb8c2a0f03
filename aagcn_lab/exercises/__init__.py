"""Exercises with checks for the notebooks: *predict, then run*; *implement*; *explore*.

The checks and the reference solutions live here, tested like any other code; a notebook cell
only calls them. Layer: beside :mod:`aagcn_lab.analysis` (imports graph, model, data, fusion,
scores, analysis; never lab or cli).

In a notebook (``NB`` is the notebook's results name, ``solutions`` a papermill parameter,
default False; the lab runs every notebook with ``solutions=True`` and asserts every check passed)::

    from aagcn_lab import exercises
    ex = exercises.Notebook(NB, run_root, solutions)   # `ex` alone lists the notebook's exercises

    # implement: a stub with a contract, then the check
    def my_partition(inward, num_joints):
        \"\"\"(3, V, V) [identity, inward, outward] from (child, parent) pairs.\"\"\"
        raise NotImplementedError  # your code here
    if solutions:
        my_partition = ex.solution("partition")
    ex.check("partition", my_partition)       # prints "[partition] correct: ..." or what is wrong

    # predict: the expectation first, the computation after it
    my_column_sums = None  # your expectation
    if solutions:
        my_column_sums = ex.solution("inward_column_sums")
    ex.check("inward_column_sums", my_column_sums)

    # explore: answered from the notebook's figure or widget; values the answer rests on as keywords
    ex.check("shared_top3", my_count, spatial=spatial)
    ex.reveal("partition")                      # the reference solution's source (or the answer and why)
    ex.hint("partition")

A check never raises on a learner's answer: a stub's ``NotImplementedError``, an exception, an
answer of the wrong kind (text for a number, a list for one number), a wrong shape or value all
become a :class:`Feedback` whose message says what is wrong (expected vs got shape, transposed,
normalised over the wrong axis, the missing ``1 +`` of the residual attention, samples in the wrong
order ...), naming joints and subsets, not indices. A predict or explore exercise answers its first
miss with a nudge (where to look, what the quantity means; ``nudge=`` of :func:`register`) and the
answer with its reason on the second miss or on ``ex.reveal``; an implement exercise names the
mistake on every miss and, from the second, points to ``ex.hint`` and ``ex.reveal``. With ``solutions=True`` a failed check raises
:class:`ExerciseError` (then the package, not a learner, is wrong). Every check is recorded in
``<run_root>/exercises/<NB>.json``; :func:`summary` reads them back.

Writing exercises (another notebook's module, e.g. ``exercises/ablation.py``)::

    from .core import Wrong, call, expect_array, expect_number, register

    def _check_thing(fn) -> str:                # return a success sentence, or raise Wrong
        got = call(fn, 3, what="my_thing(3)")   # a learner's exception becomes a Wrong sentence
        expect_array(got, reference(3), "my_thing(3)", mistakes=[("forgot the bias", wrong(3))])
        return "equal to the package on ..."

    register("thing", "implement", "08_ablations", "write `my_thing(n)`: ...", thing_solution, _check_thing,
             hint="...", explanation="...", stub="my_thing")

then add the module's name to :data:`core.MODULES`. Checkers of predict/explore exercises take
``(answer, **context)``, read the answer with ``read_number`` / ``read_pair`` / ``read_bool`` /
``read_choice`` and raise ``Wrong(answer_message, nudge=...)``; their ``solution(**context)`` returns
the answer; they are registered with a ``hint`` and a ``nudge``.

Modules: :mod:`.core` (framework), :mod:`.graphs` (01, 02b, 03), :mod:`.block` (02, 02b: the unit
in stages, :func:`~.block.check_unit`), :mod:`.evaluation` (04-07), :mod:`.ablation` (08),
:mod:`.experiments` (the checked experiments of 03, 05, 06: a prediction ``"bigger"`` / ``"smaller"`` /
``"cannot be told apart"`` judged by the effect's interval; 08's is in :mod:`.ablation`).
"""

from .core import (
    COUNTERS,
    GRADING_ENV,
    KINDS,
    MODULES,
    POLICY_KEYS,
    Exercise,
    ExerciseError,
    Feedback,
    Notebook,
    Unreadable,
    Wrong,
    call,
    counted_axis,
    course_policy,
    exercises_of,
    expect_array,
    expect_number,
    get,
    joint_axis,
    joint_name,
    read_bool,
    read_choice,
    read_number,
    read_numbers,
    read_pair,
    register,
    run_check,
    subset_axis,
    summary,
)

__all__ = [
    "COUNTERS",
    "GRADING_ENV",
    "KINDS",
    "MODULES",
    "POLICY_KEYS",
    "Exercise",
    "ExerciseError",
    "Feedback",
    "Notebook",
    "Unreadable",
    "Wrong",
    "call",
    "counted_axis",
    "course_policy",
    "exercises_of",
    "expect_array",
    "expect_number",
    "get",
    "joint_axis",
    "joint_name",
    "read_bool",
    "read_choice",
    "read_number",
    "read_numbers",
    "read_pair",
    "register",
    "run_check",
    "subset_axis",
    "summary",
]
