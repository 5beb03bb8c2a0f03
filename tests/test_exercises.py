"""The notebooks' exercises: every check passes on its reference solution, fails on the notebooks'
unfilled stubs with its explanation, names the typical wrong answers, and the build-it-yourself
unit equals the package's AdaptiveGraphConv to 1e-6 in float64."""

from __future__ import annotations

import builtins
import json
import re
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aagcn_lab import exercises
from aagcn_lab.analysis import Interval
from aagcn_lab.exercises import block, core, evaluation, graphs
from aagcn_lab.lab import list_notebooks
from aagcn_lab.scores import Scores

core._load_all()
IMPLEMENT = sorted(e.name for e in core._REGISTRY.values() if e.kind == "implement")


def _notebook_cells():
    for nb in list_notebooks():
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        source = ["".join(c["source"]) for c in cells]
        m = re.search(r'^NB = "([^"]+)"', "\n".join(source), re.M)
        for c, src in zip(cells, source):
            if "exercise" in c.get("metadata", {}).get("tags", []):
                yield nb.stem, (m.group(1) if m else nb.stem), src


STUBS = list(_notebook_cells())
EXERCISED = {"01", "02", "02b", "03", "04", "05", "06", "07", "08", "09"}  # the notebooks with exercise cells


class _Context(dict):
    """A cell's namespace: names the cell takes from earlier cells of its notebook are placeholders."""

    def __missing__(self, key):
        if hasattr(builtins, key):
            raise KeyError(key)  # found among the builtins next
        if key.startswith("my_"):  # a learner's function from an earlier exercise cell, not written yet
            return _unwritten
        return types.SimpleNamespace(placeholder=key)


class _Recorder(exercises.Notebook):
    """A notebook helper that only notes what each check was given."""

    def __init__(self, *args):
        super().__init__(*args)
        self.answers = {}

    def check(self, name, answer, **context):
        self.answers[name] = answer


def _unwritten(*args, **kwargs):
    raise NotImplementedError  # your code here


def _namespace(nb_name, tmp_path, solutions=False):
    ns = {"ex": exercises.Notebook(nb_name, tmp_path, solutions), "solutions": solutions, "np": np, "torch": torch, "F": F,
          "conv1x1": block.conv1x1, "batch_norm_eval": block.batch_norm_eval, "block": block, "exercises": exercises}  # fmt: skip
    return ns


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "unit" else n for n in IMPLEMENT])  # unit: also below
def test_every_implement_check_passes_on_its_reference_solution(name):
    fb = exercises.run_check(name, exercises.get(name).solution)
    assert fb.passed, fb.message


def test_every_notebook_has_two_to_four_exercise_cells_or_more_for_the_block():
    per_nb = {}
    for stem, _, src in STUBS:
        per_nb.setdefault(stem[:3].rstrip("_"), []).append(re.match(r"# exercise: (\w+)", src).group(1))
    assert set(per_nb) >= EXERCISED, sorted(per_nb)
    for nb, names in per_nb.items():
        assert len(names) >= 2 and (nb == "02b" or len(set(names)) <= 4), (nb, names)
        assert all(n in core._REGISTRY for n in names), names


@pytest.mark.parametrize("stem,nb_name,src", STUBS, ids=[f"{s[0][:3]}-{s[2].splitlines()[0][12:]}" for s in STUBS])
def test_every_check_fails_on_the_notebooks_unfilled_stub_with_its_explanation(stem, nb_name, src, tmp_path, capsys):
    name = re.match(r"# exercise: (\w+)", src).group(1)
    ns = _namespace(nb_name, tmp_path)
    loc = _Context(ns)
    exec(compile(src, f"<{stem} exercise {name}>", "exec"), ns, loc)  # noqa: S102
    fb = ns["ex"].results.get(name)
    if fb is None:  # a predict cell only sets the expectation; its check comes in a later cell
        var = exercises.get(name).stub
        assert loc[var] is None, (name, var)
        fb = exercises.run_check(name, loc[var])
    assert not fb.passed
    assert "not written yet" in fb.message or "no answer yet" in fb.message or "not given yet" in fb.message, fb.message
    assert "Traceback" not in fb.message and "AssertionError" not in fb.message
    if fb.exercise in ns["ex"].results:
        recorded = exercises.summary(tmp_path)[nb_name][name]
        assert recorded["passed"] is False and recorded["message"] == fb.message
        assert f"[{name}] not yet:" in capsys.readouterr().out


@pytest.mark.parametrize("stem,nb_name,src", [s for s in STUBS if "exercise: unit\n" not in s[2]],
                         ids=[f"{s[0][:3]}-{s[2].splitlines()[0][12:]}" for s in STUBS if "exercise: unit\n" not in s[2]])
def test_the_stub_cells_filled_with_the_solutions_pass(stem, nb_name, src, tmp_path):
    """With ``solutions=True`` a stub cell hands its check the reference solution (the checks themselves
    are tested above; answers that rest on a trained model are checked by the lab run)."""
    name = re.match(r"# exercise: (\w+)", src).group(1)
    ex = exercises.get(name)
    if ex.kind != "implement" and name not in ("toy_outward", "inward_column_sums", "channel_attention_params", "alpha_sign",
                                               "attention_gain", "sampling_repeats"):
        pytest.skip("the answer rests on the notebook's trained model: checked by the lab run")
    recorder = _Recorder(nb_name, tmp_path, True)
    ns = {**_namespace(nb_name, tmp_path, solutions=True), "ex": recorder}
    loc = _Context(ns)
    exec(compile(src, f"<{stem} exercise {name}>", "exec"), ns, loc)  # noqa: S102
    answer = recorder.answers.get(name, loc.get(ex.stub))
    if ex.kind == "implement":
        assert answer is ex.solution
    else:
        assert exercises.run_check(name, answer).passed


# ------------------------------------------------------------------------------------------------
# Typical wrong answers get their own message
# ------------------------------------------------------------------------------------------------


def _partition_transposed(inward, v):
    return np.swapaxes(graphs.partition_solution(inward, v), 1, 2)


def _partition_rows(inward, v):
    a = np.zeros((2, v, v))
    for c, p in inward:
        a[0, p, c], a[1, c, p] = 1, 1
    a /= np.where(a.sum(2, keepdims=True) > 0, a.sum(2, keepdims=True), 1)
    return np.concatenate([np.eye(v)[None], a])


def _data_graph_plain_reshape(theta, phi):
    n, ce, t, v = theta.shape
    return torch.tanh(theta.reshape(n, v, ce * t) @ phi.reshape(n, ce * t, v) / (ce * t))


def _fuse_by_position(scores, weights):
    names = list(scores)
    return list(scores[names[0]][0]), sum(weights[s] * np.asarray(scores[s][1]) for s in names)


def _raises(*_a, **_k):
    return {}["missing key"]


WRONG = [
    ("partition", _partition_transposed, "transposed"),
    ("partition", _partition_rows, "normalised over the wrong axis"),
    ("partition", lambda inward, v: graphs.partition_solution(inward, v)[[0, 2, 1]], "inward and outward are swapped"),
    ("partition", lambda inward, v: graphs.partition_solution(inward, v)[1:], "expected shape (3, 4, 4), got (2, 4, 4)"),
    ("partition", _raises, "raised KeyError: 'missing key' in line"),
    ("partition", lambda inward, v: None, "did the function forget to `return`"),
    ("bones", lambda j, pairs: -graphs.bones_solution(j, pairs), "the sign is reversed"),
    ("bones", lambda j, pairs: graphs.bones_solution(j, [(v, (p + 1) % j.shape[-2]) for v, p in pairs]), "off by one"),
    ("aggregate", lambda x, A: x @ A.T, "transposed"),
    ("data_graph", _data_graph_plain_reshape, "permute"),
    ("data_graph", lambda th, ph: block.data_graph_solution(th, ph).atanh(), "no tanh"),
    ("data_graph", lambda th, ph: block.data_graph_solution(th, ph).transpose(1, 2), "transposed"),
    ("gate", lambda B, C, alpha: B + C, "alpha is missing"),
    ("gate", lambda B, C, alpha: alpha * B + C, "alpha multiplies the data-dependent graph C"),
    ("graph_conv", lambda x, G, W, b: block.graph_conv_solution(x, G, W, b) - b[1:].sum(0)[None, :, None, None], "its own bias"),
    ("spatial_attention", lambda y, w, b: torch.sigmoid(F.conv1d(y.mean(2), w, b))[:, 0], "pad with"),
    ("spatial_attention", lambda y, w, b: F.conv1d(y.mean(2), w, b, padding=(w.shape[-1] - 1) // 2)[:, 0], "the sigmoid is missing"),
    ("temporal_attention", lambda y, w, b: torch.sigmoid(F.conv1d(y.mean(2), w, b, padding=4))[:, 0], "averaged over the wrong axis"),
    ("channel_attention", lambda y, w1, b1, w2, b2: torch.sigmoid(F.linear(F.linear(y.mean((2, 3)), w1, b1), w2, b2)), "ReLU"),
    ("attend", lambda y, a, axis: block.attend_solution(y, a, axis) - y, "off by the `1 +`"),
    ("unit_parameter_count", lambda c_in, c_out, v: block.unit_parameter_count_solution(c_in, c_out, v) - 1, "alpha"),
    ("unit_parameter_count", lambda c_in, c_out, v: block.unit_parameter_count_solution(c_in, c_out, v) - 3 * v * v, "learned graphs"),
    ("column_centred", lambda v: v - v.mean(1, keepdims=True), "wrong axis"),
    ("motion", lambda x: -evaluation.motion_solution(x), "sign is reversed"),
    ("motion", lambda x: x[:, 1:] - x[:, :-1], "the last one's motion is 0"),
    ("fuse_by_id", _fuse_by_position, "summed by position"),
    ("fuse_by_id", lambda s, w: (list(s[list(s)[0]][0])[::-1], None), "another order"),
    ("normalise_2d", lambda xy, shape: evaluation.normalise_2d_solution(xy, shape[::-1]), "width and height are swapped"),
    ("split_change", lambda a, b, f: (f * np.asarray(a), np.asarray(b) - np.asarray(a)), "f * A"),
    ("ucla_minmax", lambda p: (p - p.min((0, 1))) / (p.max((0, 1)) - p.min((0, 1))), "map to [-1, 1]"),
    ("ucla_minmax", lambda p: (p - p.min()) / (p.max() - p.min()) * 2 - 1, "each axis (x, y, z) on its own"),
    ("ucla_minmax", lambda p: (p - p.min(1, keepdims=True)) / np.ptp(p, 1, keepdims=True) * 2 - 1, "per frame"),
]


@pytest.mark.parametrize("name,wrong,message", WRONG, ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)])
def test_typical_wrong_answers_get_their_own_message(name, wrong, message):
    fb = exercises.run_check(name, wrong)
    assert not fb.passed and message in fb.message, fb.message
    assert "Traceback" not in fb.message


def test_the_residual_mistake_is_named():
    def relu_before(z, x, p):
        res = x if p["down"] is None else block.batch_norm_eval(block.conv1x1(x, p["down"]["w"], p["down"]["b"]), p["down"]["bn"])
        return torch.relu(block.batch_norm_eval(z, p["bn"])) + res

    fb = exercises.run_check("residual", relu_before)
    assert not fb.passed and "the ReLU comes after adding the residual" in fb.message, fb.message



@pytest.mark.parametrize(
    "name,answer,context,message",
    [
        ("inward_column_sums", 1, {}, "except the centre's"),
        ("inward_column_sums", [1, 2], {}, "one number per column"),
        ("toy_outward", 1110, {}, "the computation gives 55"),
        ("channel_attention_params", 0, {}, "the computation gives"),
        ("alpha_sign", True, {}, "theta is learned too"),
        ("attention_gain", (0, 1), {}, "1 + a"),
        ("attention_gain", (0.5, 2), {}, "never suppress"),
        ("decay_removed", 0.5, {"factor": 0.914}, "0.086"),
        ("misaligned_labels", 0.9, {"top1": 0.04, "num_classes": 23}, "the computation gives 0.04"),
        ("sampling_repeats", 3, {}, "the computation gives 2"),
        ("stream_count", 3, {"results": [1] * 7}, "the computation gives 7"),
    ],
)
def test_predictions_are_compared_and_explained(name, answer, context, message):
    fb = exercises.run_check(name, answer, **context)
    assert not fb.passed and message in fb.message, fb.message
    solution = exercises.Notebook("t").solution(name, **context)
    assert exercises.run_check(name, solution, **context).passed


def test_answers_that_rest_on_the_notebooks_values():
    spatial = np.zeros((4, 6))
    spatial[:, [0, 1, 2]] = 1
    spatial[3, [3, 4, 5]] = 2
    assert exercises.run_check("shared_top3", 3, spatial=spatial).passed
    assert "the computation gives 3" in exercises.run_check("shared_top3", 4, spatial=spatial).message
    ci = {"j": Interval(0.9, 0.85, 0.95, 4, 0.95), "b": Interval(0.8, 0.75, 0.86, 4, 0.95), "jm": Interval(0.95, 0.9, 0.98, 4, 0.95)}
    assert exercises.run_check("weakest_stream", "b", ci=ci).passed
    assert "the weakest here is b" in exercises.run_check("weakest_stream", "j", ci=ci).message
    assert "name one of the streams" in exercises.run_check("weakest_stream", "x", ci=ci).message
    ids, labels = [f"s{i}" for i in range(6)], np.array([0, 1, 2, 0, 1, 2])
    good = np.eye(3)[labels] * 0.9 + 0.1 / 3
    test = {"j": Scores(ids, good, labels), "b": Scores(ids, np.full((6, 3), 1 / 3), labels)}
    assert exercises.Notebook("t").solution("most_needed_stream", test=test) == "j"
    assert "leaving out j" in exercises.run_check("most_needed_stream", "b", test=test).message


# ------------------------------------------------------------------------------------------------
# The build-it-yourself unit against the package
# ------------------------------------------------------------------------------------------------

VARIANTS = [
    {},
    {"data_dependent": False},
    {"graph": "fixed"},
    {"graph": "cvpr"},
    {"spatial_attention": False},
    {"temporal_attention": False, "channel_attention": False},
    {"spatial_attention": False, "temporal_attention": False, "channel_attention": False},
]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(f"{k}={x}" for k, x in v.items()) or "default")
def test_the_composed_unit_equals_adaptive_graph_conv_in_float64(variant):
    for seed, index in ((3, 0), (4, 4)) + (((5, 8),) if not variant else ()):
        gcn, x = block.exercise_layer(index, seed, frames=8, **variant)
        with torch.no_grad():
            want = gcn(x)
        got, stages = block.unit_solution(x, block.unit_parameters(gcn))
        # f64, one unit (<= 1e3 terms: 3 x (C + V), C_e x T): 2.2e-13 x |output| (O(10)); 1e-6 is the
        # notebook's own check (its threshold for a right answer), kept
        assert got.dtype == torch.float64 and float((got - want).abs().max()) < 1e-6, (variant, index)
        assert ("C" in stages) == (variant.get("graph") != "fixed" and variant.get("data_dependent", True))
        assert ("spatial" in stages) == variant.get("spatial_attention", True)


@pytest.mark.slow
def test_the_unit_check_passes_on_every_variant():
    for variant in VARIANTS:
        assert "within 1e-6" in block.check_unit(block.PARTS, seeds=(6,), layers=(4,), **variant)


def test_the_unit_check_names_the_first_stage_that_differs():
    wrong_gate = {**block.PARTS, "gate": lambda B, C, alpha: B + C}
    msg = exercises.run_check("unit", wrong_gate).message
    assert "first stage that differs is stage 'G'" in msg and "alpha is missing" in msg and "agree (C)" in msg, msg
    no_one = {**block.PARTS, "attend": lambda y, a, axis: block.attend_solution(y, a, axis) - y}
    msg = exercises.run_check("unit", no_one).message
    assert "stage 'after_spatial'" in msg and "off by the `1 +`" in msg, msg
    assert "unknown part" in exercises.run_check("unit", {"softmax": None}).message
    stub = {**block.PARTS, "residual": lambda z, x, p: (_ for _ in ()).throw(NotImplementedError)}
    assert "is not written yet" in exercises.run_check("unit", stub).message


# ------------------------------------------------------------------------------------------------
# The notebook helper
# ------------------------------------------------------------------------------------------------


def test_the_notebook_helper_records_reveals_and_stops_a_solutions_run(tmp_path, capsys):
    ex = exercises.Notebook("02b_build_one_block", tmp_path)
    ex.check("gate", block.gate_solution)
    ex.check("attend", lambda y, a, axis: y)
    assert exercises.summary(tmp_path)["02b_build_one_block"]["gate"]["passed"] is True
    assert exercises.summary(tmp_path)["02b_build_one_block"]["attend"]["passed"] is False
    ex.reveal("gate")
    ex.reveal("toy_outward")
    ex.hint("data_graph")
    out = capsys.readouterr().out
    assert "return B + alpha * C" in out and "Answer: 55.0" in out and "permute" in out
    assert "gate (implement)" in repr(ex)
    strict = exercises.Notebook("02b_build_one_block", tmp_path, solutions=True)
    with pytest.raises(exercises.ExerciseError, match="fails its own check"):
        strict.check("attend", lambda y, a, axis: y)
    with pytest.raises(KeyError, match="no exercise 'nope'"):
        exercises.get("nope")
    with pytest.raises(ValueError, match="registered twice"):
        exercises.register("gate", "implement", "x", "q", block.gate_solution, lambda f: "")



def test_the_record_counts_attempts_hints_reveals_and_solutions_for_a_grader(tmp_path, monkeypatch, capsys):
    """What a grader needs: every check, miss, hint, reveal and solution use is counted in the run's record,
    a notebook that asks for solutions says so, and under grading solutions are off whatever it asks."""
    ex = exercises.Notebook("02b_build_one_block", tmp_path)
    ex.check("attend", lambda y, a, axis: y)
    ex.hint("attend")
    ex.check("attend", lambda y, a, axis: y)
    ex.reveal("attend")
    ex.check("attend", block.attend_solution)
    ex.solution("gate")
    rec = exercises.summary(tmp_path)["02b_build_one_block"]
    assert {k: rec["attend"][k] for k in exercises.COUNTERS} == {"attempts": 3, "misses": 2, "hints": 1, "reveals": 1,
                                                                   "solutions": 0}
    assert rec["attend"]["passed"] is True and rec["attend"]["solutions_mode"] is False
    assert rec["gate"]["solutions"] == 1 and rec["gate"]["attempts"] == 0 and rec["gate"]["passed"] is False
    monkeypatch.setenv(exercises.GRADING_ENV, "1")
    graded = exercises.Notebook("01_skeleton_data_and_graphs", tmp_path / "g", solutions=True)
    assert graded.solutions is False
    graded.check("partition", lambda inward, v: None)  # a miss does not raise: solutions are off
    assert exercises.summary(tmp_path / "g")["01_skeleton_data_and_graphs"]["partition"]["solutions_mode"] is True
    (tmp_path / "g" / "exercises" / "01_skeleton_data_and_graphs.json").write_text("{broken")
    graded.hint("partition")  # a damaged record is started again, not a traceback
    assert exercises.summary(tmp_path / "g")["01_skeleton_data_and_graphs"]["partition"]["hints"] == 1
    capsys.readouterr()

def test_real_data_predict_and_explore_checks():
    """09: the copies guess is judged against the measured direction; the confused pair by the matrix, with
    the swapped order named and a non-action refused."""
    ctx = {"acc_copies": 0.97, "acc_others": 0.88}
    assert exercises.run_check("ucla_copies", "copies", **ctx).passed
    wrong = exercises.run_check("ucla_copies", "others", **ctx)
    assert not wrong.passed and "97.0 % on the 95 copies" in wrong.message
    assert "answer one of" in exercises.run_check("ucla_copies", 3, **ctx).message
    names = ["walk", "sit down", "stand up"]
    cm = np.array([[5, 0, 1], [0, 3, 4], [0, 2, 6]])
    assert exercises.run_check("ucla_confused", ("Sit down", "stand up"), cm=cm, class_names=names).passed
    swapped = exercises.run_check("ucla_confused", ("stand up", "sit down"), cm=cm, class_names=names)
    assert not swapped.passed and "swapped" in swapped.message
    assert "not an action" in exercises.run_check("ucla_confused", ("jump", "walk"), cm=cm, class_names=names).message
    other = exercises.run_check("ucla_confused", ("walk", "stand up"), cm=cm, class_names=names)
    assert not other.passed and "1 time(s)" in other.message and "holds 4" in other.message
    assert "two action names" in exercises.run_check("ucla_confused", "walk", cm=cm, class_names=names).message
