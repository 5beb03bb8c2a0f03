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


def _change():
    """One layer's change of an NTU graph: decay factor 0.9137 plus a little gradient noise."""
    from aagcn_lab.analysis import split_graph_change
    from aagcn_lab.graph import spatial_partition

    a = spatial_partition("nturgb+d")
    return split_graph_change(a, 0.9137 * a + 0.01 * np.random.default_rng(0).normal(size=a.shape), 0.9137)


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
        ("decay_removed", 0.5, {"change": _change()}, "2.07"),
        ("misaligned_labels", 0.9, {"top1": 0.04, "num_classes": 23}, "the computation gives 0.04"),
        ("sampling_repeats", 3, {}, "the computation gives 2"),
        ("stream_count", 3, {"results": [1] * 7}, "the computation gives 7"),
    ],
)
def test_predictions_are_compared_and_explained(name, answer, context, message):
    fb = exercises.run_check(name, answer, misses=1, **context)  # the answer comes on the second miss
    assert not fb.passed and message in fb.message, fb.message
    solution = exercises.Notebook("t").solution(name, **context)
    assert exercises.run_check(name, solution, **context).passed


def test_answers_that_rest_on_the_notebooks_values():
    assert exercises.run_check("shared_top3", 2, spatial=_SPATIAL).passed
    assert "the computation gives 2" in exercises.run_check("shared_top3", 4, misses=1, spatial=_SPATIAL).message
    ci = {"j": Interval(0.9, 0.85, 0.95, 4, 0.95), "b": Interval(0.8, 0.75, 0.86, 4, 0.95), "jm": Interval(0.95, 0.9, 0.98, 4, 0.95)}
    assert exercises.run_check("weakest_stream", ("b", "shape"), ci=ci).passed
    assert "the weakest here is b" in exercises.run_check("weakest_stream", ("j", "pose"), misses=1, ci=ci).message
    assert "is not one of 'j', 'b', 'jm'" in exercises.run_check("weakest_stream", ("x", "shape"), ci=ci).message
    ids, labels = [f"s{i}" for i in range(6)], np.array([0, 1, 2, 0, 1, 2])
    good = np.eye(3)[labels] * 0.9 + 0.1 / 3
    test = {"j": Scores(ids, good, labels), "b": Scores(ids, np.full((6, 3), 1 / 3), labels)}
    assert exercises.Notebook("t").solution("most_needed_stream", test=test) == "j"
    assert "leaving out j" in exercises.run_check("most_needed_stream", "b", misses=1, test=test).message


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
    assert "answer" not in rec["attend"]  # implement: the function is not kept
    ex.check("toy_outward", np.float64(3.0))
    assert exercises.summary(tmp_path)["02b_build_one_block"]["toy_outward"]["answer"] == "3.0"
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
    wrong = exercises.run_check("ucla_copies", "others", misses=1, **ctx)
    assert not wrong.passed and "97.0 % on the 95 copies" in wrong.message
    assert "answer one of" in exercises.run_check("ucla_copies", 3, **ctx).message
    names = ["walk", "sit down", "stand up"]
    cm = np.array([[5, 0, 1], [0, 3, 4], [0, 2, 6]])
    assert exercises.run_check("ucla_confused", ("Sit down", "stand up"), cm=cm, class_names=names).passed
    swapped = exercises.run_check("ucla_confused", ("stand up", "sit down"), misses=1, cm=cm, class_names=names)
    assert not swapped.passed and "swapped" in swapped.message
    assert "not an action" in exercises.run_check("ucla_confused", ("jump", "walk"), cm=cm, class_names=names).message
    other = exercises.run_check("ucla_confused", ("walk", "stand up"), misses=1, cm=cm, class_names=names)
    assert not other.passed and "1 time(s)" in other.message and "holds 4" in other.message
    assert "two action names" in exercises.run_check("ucla_confused", "walk", cm=cm, class_names=names).message


# ------------------------------------------------------------------------------------------------
# Every wrong answer the turn-3 review tried (docs: notebook-review-turn3.md, section 3), and the
# ones it found accepted: each gets a named diagnosis (implement) or a nudge first and the answer
# second (predict, explore); none is accepted, none raises
# ------------------------------------------------------------------------------------------------


def _toy_undirected(inward, v):
    """Kipf-style: every edge in both directions, in both subsets, column-normalised."""
    a = np.zeros((v, v))
    for c, p in inward:
        a[p, c] = a[c, p] = 1
    a /= np.where(a.sum(0) > 0, a.sum(0), 1)
    return np.stack([np.eye(v), a, a])


def _stgcn_degree(inward, v):
    """ST-GCN-style: the directed subsets (and the identity) divided by the column degree of A + I."""
    a_in, a_out = np.zeros((v, v)), np.zeros((v, v))
    for c, p in inward:
        a_in[p, c], a_out[c, p] = 1, 1
    deg = (np.eye(v) + a_in + a_out).sum(0)
    return np.stack([np.eye(v) / deg, a_in / deg, a_out / deg])


def _only_inward_transposed(inward, v):
    a = graphs.partition_solution(inward, v)
    return np.stack([a[0], a[1].T, a[2]])


def _partition_one_matrix(inward, v):
    return graphs.partition_solution(inward, v)[:1]


def _partition_index_bug(inward, v):
    a = np.zeros((v, v))
    for c, p in inward:
        a[p, c + v] = 1  # a bug: IndexError
    return a


def _bones_parent_child(joints, pairs):
    out = np.zeros_like(joints)
    for parent, v in pairs:  # the pairs read as (parent, child)
        out[..., v, :] = joints[..., v, :] - joints[..., parent, :]
    return out


def _bones_at_parent(joints, pairs):
    out = np.zeros_like(joints)
    for v, parent in pairs:
        out[..., parent, :] = joints[..., v, :] - joints[..., parent, :]  # written at the parent's index
    return out


def _bones_in_place(joints, pairs):
    for v, parent in pairs:
        joints[..., v, :] -= joints[..., parent, :]  # later pairs read joints already turned into bones
    return joints


def _bones_from_edges(joints, pairs):
    from aagcn_lab.graph import get_layout

    lay = {25: get_layout("nturgb+d"), 17: get_layout("coco"), 18: get_layout("openpose")}[joints.shape[-2]]
    return graphs.bones_solution(joints, lay.inward)  # the graph's edges, not bone_pairs


def _bones_root_kept(joints, pairs):
    out = graphs.bones_solution(joints, pairs)
    for v, p in pairs:
        if v == p:
            out[..., v, :] = joints[..., v, :]
    return out


def _flat(theta, phi):
    n, ce, t, v = theta.shape
    return theta.permute(0, 3, 1, 2).reshape(n, v, ce * t) @ phi.reshape(n, ce * t, v) / (ce * t)


def _frames_first(theta, phi):
    ce = theta.shape[1]
    return torch.tanh(theta.mean(2).transpose(1, 2) @ phi.mean(2) / ce)


def _fuse_aligned(scores):
    names = list(scores)
    ids = list(scores[names[0]][0])
    rows = {s: {sid: i for i, sid in enumerate(scores[s][0])} for s in names}
    return ids, {s: np.asarray(scores[s][1])[[rows[s][i] for i in ids]] for s in names}


def _fuse_divided(scores, weights):
    ids, p = _fuse_aligned(scores)
    return ids, sum(weights[s] * p[s] for s in p) / sum(weights.values())


def _fuse_votes(scores, weights):
    ids, p = _fuse_aligned(scores)
    return ids, sum(weights[s] * np.eye(p[s].shape[1])[p[s].argmax(1)] for s in p)


def _fuse_logs(scores, weights):
    ids, p = _fuse_aligned(scores)
    return ids, sum(weights[s] * np.log(p[s]) for s in p)


def _fuse_sorted(scores, weights):
    ids, p = _fuse_aligned(scores)
    order = np.argsort(ids)
    return [ids[i] for i in order], sum(weights[s] * p[s] for s in p)[order]


def _unit_without_alpha():
    return {**block.PARTS, "gate": lambda B, C, alpha: B + C}


def _relu_before_residual(z, x, p):
    res = x if p["down"] is None else block.batch_norm_eval(block.conv1x1(x, p["down"]["w"], p["down"]["b"]), p["down"]["bn"])
    return torch.relu(block.batch_norm_eval(z, p["bn"])) + res


_CI = {"j": Interval(0.9, 0.85, 0.95, 4, 0.95), "b": Interval(0.8, 0.75, 0.86, 4, 0.95), "jm": Interval(0.95, 0.9, 0.98, 4, 0.95),
       "bm": Interval(0.93, 0.88, 0.97, 4, 0.95)}  # fmt: skip
# 6 actions x 7 joints: uncentred, all 6 share the top 3 {0, 1, 2}; centred, 5 different sets, the most common held by 2
_SPATIAL = np.array([[1.13, 1.0, 0.91, 0.3, 0.46, 0.48, 0.42], [1.15, 1.06, 1.09, 0.46, 0.3, 0.47, 0.31],
                     [1.15, 0.99, 1.07, 0.41, 0.36, 0.38, 0.31], [1.02, 1.08, 1.03, 0.42, 0.38, 0.5, 0.5],
                     [1.14, 1.08, 1.04, 0.38, 0.33, 0.44, 0.41], [1.06, 1.05, 1.08, 0.49, 0.37, 0.41, 0.36]])  # fmt: skip


# (exercise, answer, context, phrase on the first miss, phrase on the second miss); a phrase of None: the
# exercise's own nudge on the first miss. Implement checks name the mistake on every miss.
REVIEWED = [
    ("partition", _unwritten, {}, "not written yet", "not written yet"),
    ("partition", lambda inward, v: graphs.partition_solution(inward, v)[[0, 2, 1]], {}, "inward and outward are swapped", "swapped"),
    ("partition", _partition_rows, {}, "normalised over the wrong axis", "wrong axis"),
    ("partition", lambda inward, v: np.stack([np.eye(v), block_free_adjacency(inward, v), block_free_adjacency(inward, v).T]), {},
     "not normalised", "not normalised"),
    ("partition", _partition_one_matrix, {}, "expected shape (3, 4, 4), got (1, 4, 4)", "got (1, 4, 4)"),
    ("partition", _partition_index_bug, {}, "raised IndexError", "in line"),
    ("partition", _toy_undirected, {}, "undirected", "Kipf"),
    ("partition", _stgcn_degree, {}, "degree", "ST-GCN"),
    ("partition", _only_inward_transposed, {}, "only the inward matrix is transposed", "only the inward"),
    ("bones", lambda j, pairs: -graphs.bones_solution(j, pairs), {}, "the sign is reversed", "sign"),
    ("bones", lambda j, pairs: graphs.bones_solution(j, [(v, (p + 1) % j.shape[-2]) for v, p in pairs]), {}, "off by one", "off by one"),
    ("bones", _bones_root_kept, {}, "the root's bone should be zero", "root"),
    ("bones", lambda j, pairs: None, {}, "forget to `return`", "return"),
    ("bones", _bones_parent_child, {}, "read as (parent, child)", "(joint, parent)"),
    ("bones", _bones_at_parent, {}, "at the parent's index", "parent's index"),
    ("bones", _bones_in_place, {}, "in place", "already"),
    ("bones", _bones_from_edges, {}, "the graph's edges", "bone_pairs"),
    ("inward_column_sums", 1, {}, "almost: one column is different", "except the centre's, SpineShoulder (joint 20)"),
    ("inward_column_sums", [1.0] * 24 + [0.0], {}, "not that one", "SpineShoulder (joint 20), not ThumbRight (joint 24)"),
    ("inward_column_sums", [1.0] * 20 + [2.0] + [1.0] * 4, {}, None, "the column of SpineShoulder (joint 20)"),
    ("inward_column_sums", "one", {}, "is text", "is text"),
    ("inward_column_sums", ["1"] * 25, {}, "text", "text"),
    ("data_graph", _data_graph_plain_reshape, {}, "permute", "permute"),
    ("data_graph", lambda th, ph: block.data_graph_solution(th, ph).transpose(1, 2), {}, "transposed", "transposed"),
    ("data_graph", lambda th, ph: torch.sigmoid(_flat(th, ph)), {}, "sigmoid instead of tanh", "tanh"),
    ("data_graph", lambda th, ph: torch.softmax(_flat(th, ph), dim=-1), {}, "softmax over each row", "tanh"),
    ("data_graph", _frames_first, {}, "averaged over the frames first", "C_e T"),
    ("spatial_attention", lambda y, w, b: torch.sigmoid(F.conv1d(y.mean(2), w, b))[:, 0], {}, "pad with", "pad with"),
    ("temporal_attention", lambda y, w, b: torch.sigmoid(F.conv1d(y.mean(2), w, b, padding=4))[:, 0], {},
     "averaged over the wrong axis", "wrong axis"),
    ("unit", _unit_without_alpha(), {}, "alpha is missing", "stage 'G'"),
    ("residual", _relu_before_residual, {}, "the ReLU comes after adding the residual", "ReLU"),
    ("motion", lambda x: np.concatenate([np.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], 1), {}, "shifted by one frame", "shifted"),
    ("motion", lambda x: x[:, 1:] - x[:, :-1], {}, "keep all 6", "keep all"),
    ("motion", lambda x: np.roll(x, -1, axis=1) - x, {}, "np.roll", "wraps"),
    ("fuse_by_id", _fuse_by_position, {}, "summed by position", "by its id"),
    ("fuse_by_id", _fuse_divided, {}, "divided by the sum of the weights", "weights"),
    ("fuse_by_id", _fuse_votes, {}, "votes", "probabilities"),
    ("fuse_by_id", _fuse_logs, {}, "log", "probabilities"),
    ("fuse_by_id", _fuse_sorted, {}, "sorted", "first stream's order"),
    ("attention_gain", (0, 1), {}, "range of a itself", "(0, 1) is the range of the sigmoid a"),
    ("attention_gain", "12", {}, "text", "text"),
    ("attention_gain", (0.5, 2), {}, "suppress", "never suppress"),
    ("sampling_repeats", "2", {}, "text", "without the quotes"),
    ("sampling_repeats", 3, {}, None, "the computation gives 2"),
    ("sampling_repeats", [2], {}, "one number", "one number"),
    ("sampling_repeats", np.int64(3), {}, None, "the computation gives 2"),
    ("misaligned_labels", 0.0, {"top1": 0.043, "num_classes": 23}, "at random", "1 / 23"),
    ("misaligned_labels", 0.12, {"top1": 0.043, "num_classes": 23}, None, "the computation gives 0.043"),
    ("misaligned_labels", 4.3, {"top1": 0.043, "num_classes": 23}, "a fraction", "a fraction"),
    ("toy_outward", 110, {}, "average", "averages"),
    ("toy_outward", 1110, {}, None, "the computation gives 55"),
    ("alpha_sign", True, {}, None, "theta is learned too"),
    ("alpha_sign", "False", {}, "without quotes", "without quotes"),
    ("alpha_one", "True", {"model": None, "x": None}, "without quotes", "without quotes"),
    ("channel_attention_params", None, {}, "no answer yet", "no answer yet"),
    ("channel_attention_params", 0, {}, None, "the computation gives"),
    ("stream_count", 3, {"results": [1] * 7}, None, "the computation gives 7"),
    ("stream_count", 2.5, {"results": [1] * 7}, "whole number", "whole number"),
    ("weakest_stream", "b", {"ci": _CI}, "and the reason", "and the reason"),
    ("weakest_stream", ("j", "pose"), {"ci": _CI}, "table of intervals", "the weakest here is b"),
    ("weakest_stream", ("b", "size"), {"ci": _CI}, "same architecture", "same architecture"),
    ("weakest_stream", ("b", "noise"), {"ci": _CI}, "difference of frames", "difference of frames"),
    ("weakest_stream", ("b", "why not"), {"ci": _CI}, "is not one of 'shape'", "is not one of 'shape'"),
    ("most_needed_stream", ["j"], {"test": {"j": None, "b": None}}, "name one of 'j', 'b'", "name one of 'j', 'b'"),
    ("ablation_loses_most", "nope", {"verdicts": {"no_attention": None}}, "not one of this run's variants",
     "not one of this run's variants"),
    ("shared_top3", 6, {"spatial": _SPATIAL}, "uncentred", "uncentred"),
    ("shared_top3", 5, {"spatial": _SPATIAL}, "how many different", "different"),
    ("shared_top3", 1, {"spatial": _SPATIAL}, "as sets", "as sets"),
    ("shared_top3", 3, {"spatial": _SPATIAL}, None, "the computation gives 2"),
    ("shared_top3", "2", {"spatial": _SPATIAL}, "text", "text"),
    ("decay_removed", 1 - 0.9137, {"change": _change()}, "fraction of each entry", "fraction of each entry"),
    ("decay_removed", 0.9137 * 24, {"change": _change()}, "what decay left", "left"),
    ("decay_removed", 0.0863 * 25, {"change": _change()}, "every joint's column", "the centre"),
    ("decay_removed", 0.5, {"change": _change()}, None, "the computation gives 2.07"),
]


def block_free_adjacency(inward, v):
    """The inward matrix, unnormalised."""
    a = np.zeros((v, v))
    for c, p in inward:
        a[p, c] = 1
    return a


@pytest.mark.parametrize("name,answer,context,first,second", REVIEWED, ids=[f"{r[0]}-{i}" for i, r in enumerate(REVIEWED)])
def test_every_wrong_answer_the_review_tried_is_named_or_nudged_never_accepted(name, answer, context, first, second):
    ex = exercises.get(name)
    fb1 = exercises.run_check(name, answer, **context)  # no earlier miss
    fb2 = exercises.run_check(name, answer, misses=1, **context)
    for fb in (fb1, fb2):
        assert not fb.passed, fb.message
        assert "Traceback" not in fb.message and "\n  File " not in fb.message
    assert (first or ex.nudge) in fb1.message, fb1.message
    assert second in fb2.message, fb2.message
    if ex.kind != "implement" and first is None:  # a nudge: no answer, no explanation yet
        assert "Why:" not in fb1.message and "the computation gives" not in fb1.message, fb1.message
        assert second not in fb1.message, fb1.message


def test_a_predict_exercise_nudges_first_then_answers_and_explains(tmp_path, capsys):
    ex = exercises.Notebook("01_skeleton_graphs", tmp_path)
    ex.check("sampling_repeats", "two")  # unreadable: said, and the nudge is not used up
    first_unread = capsys.readouterr().out
    assert "text" in first_unread and "not yet" in first_unread
    ex.check("sampling_repeats", 3)
    nudge = capsys.readouterr().out
    assert exercises.get("sampling_repeats").nudge in nudge and "ex.reveal" in nudge
    assert "the computation gives 2" not in nudge and "Why" not in nudge
    ex.check("sampling_repeats", 3)
    answer = capsys.readouterr().out
    assert "the computation gives 2" in answer and "Why:" in answer
    rec = exercises.summary(tmp_path)["01_skeleton_graphs"]["sampling_repeats"]
    assert {k: rec[k] for k in exercises.COUNTERS} == {"attempts": 3, "misses": 3, "hints": 0, "reveals": 0, "solutions": 0}
    # after ex.reveal the next miss shows the answer at once
    ex2 = exercises.Notebook("01_skeleton_graphs", tmp_path / "r")
    ex2.reveal("inward_column_sums")
    assert "Answer:" in capsys.readouterr().out
    ex2.check("inward_column_sums", 1)
    assert "except the centre's" in capsys.readouterr().out
    ex2.check("sampling_repeats", 2)
    assert "correct" in capsys.readouterr().out


def test_an_implement_exercise_names_the_mistake_every_time_and_points_to_hint_and_reveal_from_the_second(tmp_path, capsys):
    ex = exercises.Notebook("02b_build_one_block", tmp_path)
    ex.check("gate", _unwritten)  # a stub is not a miss of the computation
    ex.check("gate", lambda B, C, alpha: B + C)
    first = capsys.readouterr().out
    assert "alpha is missing" in first and "ex.hint" not in first
    ex.check("gate", lambda B, C, alpha: B + C)
    second = capsys.readouterr().out
    assert "alpha is missing" in second and 'ex.hint("gate")' in second and 'ex.reveal("gate")' in second


@pytest.mark.parametrize("name", sorted(e.name for e in core._REGISTRY.values() if e.kind != "implement"))
def test_every_predict_and_explore_exercise_has_a_nudge_and_a_hint_that_do_not_give_the_answer(name):
    ex = exercises.get(name)
    assert ex.nudge.strip() and ex.hint.strip(), name
    assert ex.nudge != ex.hint
    try:
        answer = ex.solution()
    except TypeError:  # the answer rests on the notebook's values
        return
    if not isinstance(answer, bool):
        shown = [f"{answer:g}"] if isinstance(answer, (int, float)) else [repr(answer), str(answer)]
        assert not any(s in ex.nudge for s in shown), (name, answer)


@pytest.mark.parametrize("answer", ["12", "1", None, 3, [1, 2, 3], {"a": 1}, object(), np.float32(1.5), np.array([1.0, 2.0]),
                                    torch.tensor([1.0, 2.0]), float("nan"), True, "", b"12", (1, "2")])  # fmt: skip
def test_no_answer_of_any_type_raises_in_any_predict_or_explore_check(answer):
    for ex in core._REGISTRY.values():
        if ex.kind == "implement":
            continue
        context = {"ci": _CI, "spatial": _SPATIAL, "change": _change(), "top1": 0.05, "num_classes": 23, "results": [1, 2],
                   "acc_copies": 0.9, "acc_others": 0.8, "cm": np.eye(3), "class_names": ["a", "b", "c"], "effect": _UP}  # fmt: skip
        sig = ex.checker.__code__.co_varnames[1 : ex.checker.__code__.co_argcount]
        fb = exercises.run_check(ex.name, answer, **{k: v for k, v in context.items() if k in sig})
        assert isinstance(fb.message, str) and fb.message, ex.name
        right = ex.name == "attention_gain" and isinstance(answer, (np.ndarray, torch.Tensor))  # (1, 2) as an array
        assert fb.passed == right, (ex.name, answer, fb.message)


def test_misaligned_labels_rejects_the_classic_zero_and_answers_near_chance_only():
    ctx = {"top1": 0.043, "num_classes": 23}
    for wrong in (0, 0.0, 0.01, 0.12, 0.5, 1):
        assert not exercises.run_check("misaligned_labels", wrong, **ctx).passed, wrong
    for right in (0.043, 0.04, 1 / 23, 0.07):
        assert exercises.run_check("misaligned_labels", right, **ctx).passed, right


def test_fuse_by_id_is_checked_on_a_first_stream_that_is_not_sorted():
    seen = {}

    def spy(scores, weights):
        seen["ids"] = list(scores[list(scores)[0]][0])
        return evaluation.fuse_by_id_solution(scores, weights)

    assert exercises.run_check("fuse_by_id", spy).passed
    assert seen["ids"] != sorted(seen["ids"])


def test_notebook_05_lists_every_reason_the_weakest_stream_check_knows():
    cells = json.loads(next(nb for nb in list_notebooks() if nb.stem.startswith("05")).read_text(encoding="utf-8"))["cells"]
    src = ["".join(c["source"]) for c in cells]
    at = next(i for i, s in enumerate(src) if s.startswith("# exercise: weakest_stream"))
    posed = src[at - 1]  # the markdown cell that poses the question
    assert all(f'`"{key}"`' in posed for key in evaluation.REASONS), posed


def test_hints_of_predict_and_explore_exercises_are_printed(capsys):
    ex = exercises.Notebook("04_attention_maps")
    ex.hint("shared_top3")
    out = capsys.readouterr().out
    assert "column_centred" in out and "No hint" not in out
    assert exercises.run_check("shared_top3", ex.solution("shared_top3", spatial=_SPATIAL), spatial=_SPATIAL).passed
    assert exercises.run_check("decay_removed", ex.solution("decay_removed", change=_change()), change=_change()).passed


def test_the_weakest_stream_check_wants_the_reason_too():
    assert exercises.run_check("weakest_stream", ("b", "shape"), ci=_CI).passed
    assert exercises.Notebook("t").solution("weakest_stream", ci=_CI) == ("b", "shape")
    fb = exercises.run_check("weakest_stream", ("b", "pose"), misses=1, ci=_CI)
    assert not fb.passed and "bone" in fb.message, fb.message


def test_the_ablation_prediction_is_worded_by_the_sign_and_says_when_only_one_variant_ran():
    from aagcn_lab.ablation import Verdict

    gained = {"no_attention": Verdict("no_attention", "full", 0.129, 0.05, 0.2, 0.04, 0.2, (3, 3), True)}
    fb = exercises.run_check("ablation_loses_most", "no_attention", verdicts=gained)
    assert "only variant" in fb.message and "gained" in fb.message and "lowest" not in fb.message, fb.message
    both = {**gained, "fixed_graph": Verdict("fixed_graph", "full", 0.02, -0.05, 0.09, -0.03, 0.07, (3, 3), False)}
    fb = exercises.run_check("ablation_loses_most", "fixed_graph", verdicts=both)
    assert fb.passed and "no variant lost" in fb.message and "gained" in fb.message, fb.message
    fb = exercises.run_check("ablation_loses_most", "no_attention", misses=1, verdicts=both)
    assert not fb.passed and "no_attention gained 12.9 points" in fb.message, fb.message
    lost = {**both, "no_attention": Verdict("no_attention", "full", -0.2, -0.3, -0.1, -0.3, -0.1, (3, 3), True)}
    fb = exercises.run_check("ablation_loses_most", "no_attention", verdicts=lost)
    assert fb.passed and "no_attention came out lowest against full (-20.0)" in fb.message, fb.message


def test_messages_name_joints_and_subsets_not_bare_indices():
    fb = exercises.run_check("partition", lambda inward, v: graphs.partition_solution(inward, v) * np.r_[1, 1, 0.5][:, None, None])
    assert "outward subset" in fb.message and "(joint " in fb.message, fb.message
    fb = exercises.run_check("bones", lambda j, pairs: graphs.bones_solution(j, pairs) + (np.arange(j.shape[-2]) == 9)[:, None])
    assert "ElbowRight (joint 9)" in fb.message and "index (" not in fb.message, fb.message


# ------------------------------------------------------------------------------------------------
# A course's policy (the student build of `aagcn-lab course build`)
# ------------------------------------------------------------------------------------------------

CLOSED = {"reveal": False, "solutions": False}


def test_a_course_policy_refuses_reveals_and_solutions_in_one_sentence_and_counts_them(tmp_path, capsys):
    """Under a policy without reveals and solutions: ``solutions=True`` gives none (the record keeps that it was
    asked), ``ex.reveal`` and ``ex.solution`` print one sentence and are still counted, and no message points to
    ``ex.reveal``; every record names the policy it was made under."""
    ex = exercises.Notebook("02b_build_one_block", tmp_path, True, policy=CLOSED)
    assert ex.solutions is False
    assert "solutions are off in this course" in capsys.readouterr().out
    assert ex.solution("gate") is None
    ex.reveal("gate")
    ex.reveal("toy_outward")
    assert capsys.readouterr().out.splitlines() == ["solutions are off in this course; ask your TA or use ex.hint",
                                                     "reveals are off in this course; ask your TA or use ex.hint",
                                                     "reveals are off in this course; ask your TA or use ex.hint"]  # fmt: skip
    for _ in range(2):
        ex.check("gate", lambda B, C, alpha: B + C)  # a miss does not raise: solutions are off
    for _ in range(3):
        ex.check("toy_outward", 1.0)
    out = capsys.readouterr().out
    assert 'ex.hint("gate")' in out and "ex.reveal" not in out and "alpha is missing" in out
    # neither the refused reveal nor a second or third miss shows the answer: the nudge each time
    assert out.count(exercises.get("toy_outward").nudge) == 3 and "Why:" not in out and "55" not in out
    rec = exercises.summary(tmp_path)["02b_build_one_block"]
    assert {k: rec["gate"][k] for k in exercises.COUNTERS} == {"attempts": 2, "misses": 2, "hints": 0, "reveals": 1, "solutions": 1}
    assert rec["gate"]["solutions_mode"] is True and rec["gate"]["policies"] == [CLOSED]
    assert rec["toy_outward"]["reveals"] == 1 and rec["toy_outward"]["misses"] == 3 and rec["toy_outward"]["policies"] == [CLOSED]
    # a second helper without the policy (a learner's edit) is seen in the record
    exercises.Notebook("02b_build_one_block", tmp_path).reveal("gate")
    assert "return B + alpha * C" in capsys.readouterr().out
    assert exercises.summary(tmp_path)["02b_build_one_block"]["gate"]["policies"] == [CLOSED, None]


def test_a_policy_that_allows_reveals_reveals_and_a_wrong_policy_is_refused_by_name(tmp_path, capsys):
    ex = exercises.Notebook("02b_build_one_block", tmp_path, True, policy={"reveal": True, "solutions": False})
    ex.reveal("gate")
    assert "return B + alpha * C" in capsys.readouterr().out and ex.solutions is False
    opened = exercises.Notebook("02b_build_one_block", tmp_path / "o", True, policy={"reveal": True, "solutions": True})
    assert opened.solutions is True and opened.solution("gate") is block.gate_solution
    assert exercises.summary(tmp_path / "o")["02b_build_one_block"]["gate"]["policies"] == [{"reveal": True, "solutions": True}]
    with pytest.raises(ValueError, match=r"policy: unknown key 'reveals' \(known: reveal, solutions\)"):
        exercises.Notebook("02b_build_one_block", tmp_path, policy={"reveals": False})
    with pytest.raises(ValueError, match=r"policy: 'solutions' must be True or False, got 'no'"):
        exercises.Notebook("02b_build_one_block", tmp_path, policy={"solutions": "no"})
    plain = exercises.Notebook("02b_build_one_block", tmp_path / "p")
    plain.hint("gate")
    assert exercises.summary(tmp_path / "p")["02b_build_one_block"]["gate"]["policies"] == [None]
    capsys.readouterr()


# ------------------------------------------------------------------------------------------------
# Checked experiments: bigger, smaller or cannot be told apart, judged by the interval
# ------------------------------------------------------------------------------------------------

_UP, _DOWN, _NOISE = Interval(0.05, 0.02, 0.08, 4, 0.95), Interval(-0.05, -0.08, -0.02, 4, 0.95), Interval(0.02, -0.01, 0.05, 4, 0.95)
EFFECT_CHECKS = [("log_fusion_effect", "effect"), ("graph_gradient_effect", "effect"), ("body_scale_effect", "effect")]  # (exercise, keyword)


@pytest.mark.parametrize("name,key", EFFECT_CHECKS)
@pytest.mark.parametrize("effect,right", [(_UP, "bigger"), (_DOWN, "smaller"), (_NOISE, "cannot be told apart")])
def test_a_checked_experiment_is_judged_by_its_interval_nudged_first_then_answered(name, key, effect, right):
    ex = exercises.get(name)
    assert ex.kind == "predict" and ex.nudge and ex.hint and ex.explanation
    assert exercises.run_check(name, right, **{key: effect}).passed
    assert exercises.run_check(name, f"  {right.upper()} ", **{key: effect}).passed  # case and spaces do not matter
    assert ex.solution(**{key: effect}) == right
    for wrong in {"bigger", "smaller", "cannot be told apart"} - {right}:
        first = exercises.run_check(name, wrong, **{key: effect})
        second = exercises.run_check(name, wrong, misses=1, **{key: effect})
        assert not first.passed and not second.passed
        assert ex.nudge in first.message and "points [" not in first.message and "Why:" not in first.message, first.message
        assert right in second.message and "Why:" in second.message and "points [" in second.message, second.message


def test_a_positive_point_estimate_inside_the_noise_is_not_bigger():
    fb = exercises.run_check("log_fusion_effect", "bigger", misses=1, effect=_NOISE)
    assert not fb.passed and "contains 0" in fb.message and "+2.0 points [-1.0, +5.0]" in fb.message, fb.message
    assert exercises.run_check("log_fusion_effect", "smaller", effect=Interval(-0.0, -0.0, 0.0, 4, 0.95)).passed is False
    assert exercises.run_check("log_fusion_effect", "cannot be told apart", effect=Interval(0.0, 0.0, 0.0, 4, 0.95)).passed


@pytest.mark.parametrize("answer", [None, 1, "yes", "", ["bigger"], True, "big", float("nan"), b"bigger", object()])
def test_odd_answers_to_a_checked_experiment_are_said_not_raised(answer):
    for name, key in EFFECT_CHECKS:
        fb = exercises.run_check(name, answer, **{key: _UP})
        assert not fb.passed and not fb.readable and "Traceback" not in fb.message, (name, answer, fb.message)
    fb = exercises.run_check("ablation_effect", answer, verdicts={"no_attention": _verdict(-0.2, apart=True)}, variant="no_attention")
    assert not fb.passed and not fb.readable and "Traceback" not in fb.message, fb.message


def test_log_fusion_sums_weighted_log_probabilities_by_sample_id():
    from aagcn_lab.exercises.experiments import log_fusion

    ids = ["a", "b", "c"]
    p = {"j": np.array([[0.7, 0.3], [0.2, 0.8], [0.5, 0.5]]), "b": np.array([[0.1, 0.9], [0.6, 0.4], [0.3, 0.7]])}
    scores = {"j": Scores(ids, p["j"], np.array([0, 1, 1])), "b": Scores(ids[::-1], p["b"][::-1], np.array([1, 1, 0]))}
    fused = log_fusion(scores, {"j": 2.0, "b": 1.0})
    assert fused.frame_dir == ids
    np.testing.assert_allclose(fused.probs, 2 * np.log(p["j"]) + np.log(p["b"]), atol=1e-12)


def _verdict(difference, apart, collapsed=()):
    from aagcn_lab.ablation import Verdict

    low, high = (difference - 0.05, difference + 0.05) if apart else (difference - 0.2, difference + 0.2)
    return Verdict("no_attention", "full", difference, low, high, low, high, (2, 2), apart, tuple(collapsed))


def test_the_ablation_experiment_is_judged_by_the_verdict_and_never_by_a_collapsed_seed():
    lost = {"no_attention": _verdict(-0.2, apart=True), "fixed_graph": _verdict(-0.01, apart=False)}
    assert exercises.run_check("ablation_effect", "smaller", verdicts=lost, variant="no_attention").passed
    assert exercises.run_check("ablation_effect", "cannot be told apart", verdicts=lost, variant="fixed_graph").passed
    fb = exercises.run_check("ablation_effect", "smaller", misses=1, verdicts=lost, variant="fixed_graph")
    assert not fb.passed and "fixed_graph lost 1.0 points" in fb.message and "cannot be told apart" in fb.message, fb.message
    # no variant named (or one not in the run): the variant that lost most is judged, and the message says so
    fb = exercises.run_check("ablation_effect", "smaller", verdicts=lost, variant=None)
    assert fb.passed and "no_attention" in fb.message, fb.message
    gained = {"no_attention": _verdict(0.129, apart=True)}
    fb = exercises.run_check("ablation_effect", "bigger", verdicts=gained, variant="no_attention")
    assert fb.passed and "gained 12.9 points" in fb.message, fb.message
    # the review's run: full seed 0 collapsed; the +12.9 is not a finding, whatever its intervals
    broken = {"no_attention": _verdict(0.129, apart=False, collapsed=["full seed 0 (41.5 %, its best sibling 76.1 %)"])}
    fb = exercises.run_check("ablation_effect", "cannot be told apart", verdicts=broken, variant="no_attention")
    assert fb.passed and "collapsed seed" in fb.message and "full seed 0" in fb.message, fb.message
    first = exercises.run_check("ablation_effect", "bigger", verdicts=broken, variant="no_attention")
    assert not first.passed and "collapsed" in first.message and "Why:" not in first.message, first.message
    second = exercises.run_check("ablation_effect", "bigger", misses=1, verdicts=broken, variant="no_attention")
    assert not second.passed and "collapsed seed" in second.message and "cannot be told apart" in second.message, second.message


def test_a_probe_without_training_reproduces_the_runs_scores_and_sees_a_change(tmp_path):
    """probe_scores under the run's own protocol equals the run's score file sample by sample (so a paired comparison
    measures only the change made), a scaled body or a graph without its gradient part changes the scores, and
    decay_only leaves B_k = f * A_k in every layer and the trained model untouched."""
    from aagcn_lab import analysis
    from aagcn_lab.exercises.experiments import decay_only, probe_scores
    from aagcn_lab.model.checkpoint import load_checkpoint
    from aagcn_lab.scores import load_scores
    from aagcn_lab.train.config import preset
    from aagcn_lab.train.trainer import train

    cfg = preset("builtin_b", work_dir=str(tmp_path / "b"), epochs=1, max_steps=3, test_clips=1, clip_len=16, val_split="",
                 progress=False, tensorboard=False, **{"model.base_channels": 8, "model.num_stages": 2})  # fmt: skip
    run = train(cfg)
    saved = load_scores(run.scores)
    same = probe_scores(run.checkpoint, num_clips=1)
    assert sorted(same.frame_dir) == sorted(saved.frame_dir)
    np.testing.assert_allclose(same.reorder(saved.frame_dir).probs, saved.probs, atol=1e-5)
    bigger = probe_scores(run.checkpoint, keypoints=lambda kp: kp * 1.5, num_clips=1)
    assert np.abs(bigger.reorder(saved.frame_dir).probs - saved.probs).max() > 1e-4
    model = load_checkpoint(run.checkpoint)
    changes = analysis.graph_changes(model, run.checkpoint)
    before = [b.gcn.A.detach().clone() for b in model.backbone.gcn]
    stripped = decay_only(model, changes)
    for layer, change in zip(stripped.backbone.gcn, changes):
        np.testing.assert_allclose(layer.gcn.A.detach().double().numpy(), change.factor * change.initial, atol=1e-6)
    assert all(torch.equal(b.gcn.A, k) for b, k in zip(model.backbone.gcn, before))  # a copy: the trained model stays
    assert analysis.compare_streams(probe_scores(run.checkpoint, model=stripped, num_clips=1), saved).groups > 1


def test_the_variant_that_lost_most_is_not_called_noise_when_a_seed_collapsed():
    broken = {"no_attention": _verdict(0.118, apart=False, collapsed=["full seed 0 (46.0 %, its best sibling 74.8 %)"])}
    fb = exercises.run_check("ablation_loses_most", "no_attention", verdicts=broken)
    assert "collapsed seed" in fb.message and "full seed 0" in fb.message and "noise" not in fb.message, fb.message
