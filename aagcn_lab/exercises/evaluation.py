"""Exercises on attention maps, streams, fusion and 2D input (notebooks 04-07)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .core import (
    Unreadable,
    Wrong,
    call,
    counted_axis,
    expect_array,
    expect_number,
    joint_axis,
    read_choice,
    read_number,
    read_pair,
    register,
)

__all__ = ["column_centred_solution", "motion_solution", "fuse_by_id_solution", "normalise_2d_solution"]

NB04, NB05, NB06, NB07 = "04_attention_maps", "05_four_streams", "06_fusion", "07_your_own_skeletons"


# ------------------------------------------------------------------------------------------------
# 04: attention maps
# ------------------------------------------------------------------------------------------------


def column_centred_solution(values):
    """Each column minus its mean over the rows: (actions, joints) -> what an action has more than the average action."""
    values = np.asarray(values, dtype=float)
    return values - values.mean(axis=0, keepdims=True)


def _check_column_centred(fn) -> str:
    from ..analysis import column_centred

    rng = np.random.default_rng(4)
    for shape in ((23, 25), (5, 7)):
        v = rng.uniform(0.3, 0.9, size=shape)
        got = call(fn, v.copy(), what=f"my_column_centred on a {shape} table")
        want = column_centred(v)
        mistakes = [
            ("centred over the wrong axis: subtract each *column's* (joint's) mean over the actions, not each row's mean",
             v - v.mean(axis=1, keepdims=True)),
            ("the overall mean was subtracted; subtract each column's own mean", v - v.mean()),
            ("divided by the standard deviation too: centring only subtracts the mean",
             (v - v.mean(axis=0, keepdims=True)) / v.std(axis=0, keepdims=True)),
        ]  # fmt: skip
        axes = (counted_axis("action"), joint_axis("nturgb+d", "the column of")) if shape == (23, 25) else \
            (counted_axis("row"), counted_axis("column"))
        expect_array(got, want, f"my_column_centred on a {shape} table", mistakes, axes=axes)
    return "equal to analysis.column_centred: every column now has mean 0"


register(
    "column_centred", "implement", NB04,
    "write `my_column_centred(values)`: each column (joint) of an (actions, joints) table minus its mean over the actions",
    column_centred_solution, _check_column_centred,
    hint="values.mean(axis=0, keepdims=True) is the mean of every column.",
)  # fmt: skip


def _attention_gain(**_) -> tuple[float, float]:
    return (1.0, 2.0)


def _check_attention_gain(answer) -> str:
    low, high = read_pair(answer, "your range (smallest, largest)")
    if (low, high) == (0.0, 1.0):
        raise Wrong("(0, 1) is the range of the sigmoid a; the feature is multiplied by 1 + a",
                    nudge="(0, 1) is the range of a itself; by what is the feature multiplied, y * a or something else?")
    if low < 1 and np.isclose(high, 2):
        raise Wrong("it can never suppress: with a >= 0 the factor 1 + a is at least 1",
                    nudge="the largest is right; can one attention step suppress a feature? Look at the smallest a can be.")
    if not (np.isclose(low, 1) and np.isclose(high, 2)):
        raise Wrong(f"you said ({low:g}, {high:g}); y * (1 + a) with a in (0, 1) gives a factor between 1 and 2")
    return "yes: x1 (a = 0) to x2 (a = 1); a unit can amplify a joint, a frame or a channel, never suppress it"


register(
    "attention_gain", "predict", NB04,
    "one attention step multiplies a feature by at least and at most what factor? (smallest, largest)",
    _attention_gain, _check_attention_gain,
    explanation="a = sigmoid(...) lies in (0, 1) and the step is residual, y * (1 + a).",
    hint="section 1 writes the step out: y <- y * a + y.",
    nudge="an attention value a is a sigmoid output; the step is residual. Write the step as y times a factor: what "
          "is the factor at the smallest and at the largest a?",
    stub="my_range",
)  # fmt: skip


def _top3_sets(values: np.ndarray) -> list[frozenset]:
    from ..analysis import top_columns

    return [frozenset(t) for t in top_columns(np.asarray(values, dtype=float), 3)]


def _shared(sets: list) -> int:
    return max(sets.count(s) for s in set(sets))


def _shared_top3(spatial: Any = None, **_) -> int:
    from ..analysis import column_centred

    if spatial is None:
        raise TypeError("needs the notebook's per-action spatial attention")
    return _shared(_top3_sets(column_centred(spatial)))


def _check_shared_top3(answer, spatial: Any) -> str:
    from ..analysis import column_centred, top_columns

    value = read_number(answer, "actions sharing the most common centred top 3")
    if value != int(value):
        raise Unreadable(f"a count of actions is a whole number, got {value:g}")
    centred = column_centred(spatial)
    want, raw = _shared(_top3_sets(centred)), _shared(_top3_sets(spatial))
    ordered = [tuple(t) for t in top_columns(centred, 3)]
    named = [
        (raw, "that is the uncentred count, printed above the table; the question asks about the centred ranking (the "
              "'centred:' column)"),
        (len(set(_top3_sets(centred))), "that is how many different centred top-3 sets there are; the question asks how many "
                                          "actions share the most common one"),
        (max(ordered.count(t) for t in ordered), "you compared the top 3 in order; compare them as sets: (A, B, C) and "
                                                 "(B, A, C) are the same three joints"),
    ]  # fmt: skip
    for wrong, message in named:
        if wrong != want and value == wrong:
            raise Wrong(message, nudge=message)
    expect_number(value, want, "actions sharing the most common centred top 3")
    change = "fewer than" if want < raw else "as many as" if want == raw else "more than"
    return (f"yes: {want} action(s) share the most common centred top 3, {change} the {raw} of the uncentred ranking: "
            "centring removes what every action shares, so what is left differs more from action to action")


register(
    "shared_top3", "explore", NB04,
    "after column centring (the 'centred:' column of section 3's table): how many actions share the most common "
    "top-3 set of joints? The uncentred count is printed above the table; compare.",
    _shared_top3, _check_shared_top3,
    explanation="the uncentred values mix what every action shares with what is specific; centring removes the shared part, "
                "so the centred top-3 sets differ more between actions (unless a few outlier actions pull every column's "
                "mean, see the heat map).",
    hint="analysis.top_columns(analysis.column_centred(spatial), 3) gives every action's centred top 3; compare them as sets.",
    nudge="count in the 'centred:' column of the table (not the uncentred line above it): take each action's three joints "
          "as a set, find the set that occurs most often, and count the actions that have it.",
    stub="my_count",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# 05: streams
# ------------------------------------------------------------------------------------------------


def motion_solution(x):
    """Motion (M, T, V, C): the step to the next frame, x[:, t + 1] - x[:, t]; the last frame has none (0)."""
    x = np.asarray(x)
    motion = np.zeros_like(x)
    motion[:, :-1] = x[:, 1:] - x[:, :-1]
    return motion


def _check_motion(fn) -> str:
    from ..data.pipeline import Pipeline

    rng = np.random.default_rng(5)
    for t in (6, 31):
        x = rng.normal(size=(2, t, 25, 3)).astype(np.float32)
        got = call(fn, x.copy(), what=f"my_motion on a clip of {t} frames")
        want = Pipeline("jm", "val").features(x, np.arange(t))
        backward = np.zeros_like(x)
        backward[:, 1:] = x[:, 1:] - x[:, :-1]
        mistakes = [
            ("the sign is reversed: motion is the next frame minus this one", -want),
            ("the motion is shifted by one frame: frame t holds x[t + 1] - x[t], and the *last* frame is 0, not the first", backward),
            ("np.roll wraps around: the last frame got x[0] - x[T - 1], the first frame minus the last; the last frame has no "
             "next one, so its motion is 0", np.roll(x, -1, axis=1) - x),
            ("np.roll wraps around, and the motion is shifted by one frame: frame t holds x[t + 1] - x[t] and the last frame is 0",
             x - np.roll(x, 1, axis=1)),
        ]  # fmt: skip
        expect_array(got, want, f"my_motion on a clip (M, T, V, C) = {x.shape}", mistakes, atol=1e-5,
                     shape_hints={(2, t - 1, 25, 3): f"{t - 1} frames: keep all {t}, the last one's motion is 0"},
                     axes=(counted_axis("person"), counted_axis("frame"), joint_axis("nturgb+d"), counted_axis("coordinate", "xyz")))
    return "equal to the pipeline's joint motion (the jm stream before sampling)"


register(
    "motion", "implement", NB05,
    "write `my_motion(x)`: the motion of every frame of (M, T, V, C) joints (or bones), the last frame 0",
    motion_solution, _check_motion,
    hint="np.zeros_like(x), then fill frames 0..T-2 with x[:, 1:] - x[:, :-1].",
)  # fmt: skip


# The reasons a learner chooses from (key: what it says, the streams it would make weak; () for a false premise)
REASONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "shape": ("the bone stream carries each performer's bone lengths; with few training performers it can fit body "
              "shape instead of the action", ("b",)),
    "noise": ("a difference of two frames amplifies the sensor's frame-to-frame jitter", ("jm", "bm")),
    "pose": ("positions say where the body is, not how it moves, and the built-in actions are defined by movement", ("j",)),
    "size": ("it has fewer parameters than the others", ()),
    "data": ("it is trained on fewer samples than the others", ()),
}  # fmt: skip
_FALSE_PREMISE = {
    "size": "all four streams have the same architecture and the same number of parameters; what differs is their input",
    "data": "all four streams train on the same samples; what differs is the view of the skeleton each one gets",
}
_REASON_OF = {s: key for key, (_, streams) in REASONS.items() for s in streams}
_REASON_LIST = "; ".join(f"{key!r}: {text}" for key, (text, _) in REASONS.items())


def _singles(ci: Mapping[str, Any]) -> list[str]:
    return [s for s in ci if s in ("j", "b", "jm", "bm")]


def _weakest(ci: Mapping[str, Any] | None = None, **_) -> tuple[str, str]:
    if ci is None:
        raise TypeError("needs the notebook's intervals")
    stream = min(_singles(ci), key=lambda s: ci[s].value)
    return stream, _REASON_OF[stream]


def _check_weakest(answer, ci: Mapping[str, Any]) -> str:
    singles = _singles(ci)
    if isinstance(answer, str) or not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise Unreadable("give the stream and the reason as a pair, (stream, reason), e.g. ('j', 'pose'), the reason "
                         "one of those the question lists")  # fmt: skip
    stream = read_choice(answer[0], singles, "the stream (first of the pair)")
    reason = read_choice(answer[1], list(REASONS), "the reason (second of the pair)")
    if reason in _FALSE_PREMISE:
        raise Wrong(f"that reason cannot hold: {_FALSE_PREMISE[reason]}", nudge=f"that reason cannot hold: {_FALSE_PREMISE[reason]}")
    want, _ = _weakest(ci)
    table = ", ".join(f"{s} {100 * ci[s].value:.1f}" for s in singles)
    if ci[stream].value > ci[want].value:  # a stream tied with the weakest is as right as it
        overlap = ci[stream].low <= ci[want].high
        raise Wrong(f"the weakest here is {want} ({table})" + ("; but its interval overlaps yours, so the two cannot be told apart" if overlap else ""),
                    nudge="look at the table of intervals above: which single stream has the lowest top-1, and does its "
                          "interval overlap the next one's?")  # fmt: skip
    if stream not in REASONS[reason][1]:
        made_weak = " and ".join(REASONS[reason][1])
        wrong_for = {"noise": f"{stream} is not a difference of frames: ", "shape": f"{stream} does not carry bone lengths "
                     "as the bone stream does: ", "pose": f"{stream} is not the plain positions: "}[reason]  # fmt: skip
        message = f"{wrong_for}that reason would make {made_weak} weak, not {stream}; which property of {stream}'s input could?"
        raise Wrong(message, nudge=message)
    return (f"yes: {stream} ({table}), and your reason is the one this notebook offers for it (a likely reason, not "
            "tested); check its interval against the next stream before calling it a ranking")


register(
    "weakest_stream", "predict", NB05,
    "before training: which single stream (j, b, jm or bm) will be the weakest on the built-in data, and why? "
    f"Answer (stream, reason), the reason one of: {_REASON_LIST}",
    _weakest, _check_weakest,
    explanation="a likely reason, not tested: on the built-in data the actions are defined by movement, and the bone stream "
                "also carries each performer's bone lengths, which with six training performers it can fit instead of the "
                "action; motion cancels body shape (training b with random body scale, in the notebook's closing list, would "
                "test it).",
    hint="the streams differ only in their input (the table at the top of the notebook): which input carries something "
         "that identifies the performer rather than the action, or amplifies noise?",
    nudge="the four streams share the architecture and the samples; only their input differs. What does each input carry "
          "besides the action: the performer's body, sensor noise, where the body stands?",
    stub="my_guess",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# 06: fusion
# ------------------------------------------------------------------------------------------------


def fuse_by_id_solution(scores, weights):
    """Fuse streams by sample id: ``scores[stream] = (ids, probs (N, K))`` -> ``(ids, sum_s w_s probs_s)``
    in the first stream's order, every stream's rows looked up by id (never by position)."""
    names = list(scores)
    ids = list(scores[names[0]][0])
    total = np.zeros(np.shape(scores[names[0]][1]), dtype=float)
    for name in names:
        row = {sid: i for i, sid in enumerate(scores[name][0])}
        probs = np.asarray(scores[name][1], dtype=float)
        total += weights.get(name, 0.0) * probs[[row[sid] for sid in ids]]
    return ids, total


def _check_fuse(fn) -> str:
    from ..fusion import fuse
    from ..scores import Scores

    rng = np.random.default_rng(6)
    n, k = 40, 5
    ids = [f"S001C001P{p:03d}R001A{a:03d}" for p in range(1, 9) for a in range(1, 6)]
    labels = rng.integers(0, k, n)
    weights = {"j": 2.0, "b": 2.0, "jm": 1.0, "bm": 1.0}
    streams = {}
    for s in weights:  # every stream in its own order, the first one too (not sorted: its order is the contract)
        order = rng.permutation(n)
        p = rng.dirichlet(np.ones(k), n)
        streams[s] = ([ids[j] for j in order], p[order], labels[order])
    got = call(fn, {s: (v[0], v[1]) for s, v in streams.items()}, dict(weights), what="my_fuse")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise Wrong(f"my_fuse should return (ids, fused probabilities), got {type(got).__name__}")
    ref = fuse({s: Scores(v[0], v[1], v[2]) for s, v in streams.items()}, weights)
    if isinstance(got[0], (str, bytes)) or not hasattr(got[0], "__iter__"):
        raise Wrong(f"the first of (ids, fused) should be the list of sample ids, got {type(got[0]).__name__}")
    got_ids = [str(i) for i in got[0]]
    if got_ids != ref.frame_dir:
        if got_ids == sorted(ref.frame_dir):
            raise Wrong("the ids come back sorted; the contract is the first stream's order (here it is not sorted)")
        raise Wrong("the ids come back in another order than the first stream's" if sorted(got_ids) == sorted(ref.frame_dir)
                    else "the ids returned are not the samples' ids")  # fmt: skip
    first = ref.frame_dir
    aligned = {s: streams[s][1][[streams[s][0].index(i) for i in first]] for s in weights}
    mistakes = [
        ("the rows were summed by position: the streams list their samples in different orders, so look every row up by its id",
         sum(w * streams[s][1] for s, w in weights.items())),
        ("the weights are missing: fuse sum_s w_s p_s", sum(aligned.values())),
        ("divided by the sum of the weights: the ranking is the same, but the contract is the plain weighted sum", ref.probs / 6),
        ("these are weighted votes (a one-hot of each stream's top class); fuse the probabilities themselves, sum_s w_s p_s",
         sum(w * np.eye(k)[aligned[s].argmax(1)] for s, w in weights.items())),
        ("these are summed log-probabilities (a product of probabilities); pyskl fuses the probabilities themselves, "
         "sum_s w_s p_s", sum(w * np.log(aligned[s]) for s, w in weights.items())),
        ("these are multiplied probabilities; pyskl fuses the probabilities themselves, sum_s w_s p_s",
         np.exp(sum(w * np.log(aligned[s]) for s, w in weights.items()))),
    ]  # fmt: skip
    expect_array(got[1], ref.probs, "your fused probabilities", mistakes, axes=(counted_axis("sample", first), counted_axis("class")))
    return "equal to fusion.fuse on four streams listed in four different orders"


register(
    "fuse_by_id", "implement", NB06,
    "write `my_fuse(scores, weights)`: fuse streams given as {stream: (ids, probs)} by sample id, in the first stream's order",
    fuse_by_id_solution, _check_fuse,
    hint="Build {id: row} for every stream, then gather the rows in the first stream's id order before summing.",
    stub="my_fuse",
)  # fmt: skip


def _misaligned(top1: float | None = None, **_) -> float:
    if top1 is None:
        raise TypeError("needs the notebook's measured top-1")
    return float(top1)


def _check_misaligned(answer, top1: float, num_classes: int) -> str:
    value = read_number(answer, "your top-1 (a fraction)")
    if 1 < value <= 100:
        raise Unreadable(f"a fraction, not a percentage: {value:g} % is {value / 100:g}")
    chance = 1 / num_classes
    if value < chance / 2:
        raise Wrong(f"{value:g} would mean the predictions avoid the true labels; compared with a random other sample's label, "
                    f"a prediction is right by chance about 1 in {num_classes}: 1 / {num_classes} = {chance:.3f}",
                    nudge="a misaligned label is not always a wrong one: how often does a prediction match a label drawn "
                          "at random from the classes?")  # fmt: skip
    expect_number(value, top1, "top-1 with scores and labels in different orders", tol=0.05)
    return f"yes: {top1:.3f}, about chance (1 / {num_classes} = {chance:.3f}): every prediction is compared with another sample's label"


register(
    "misaligned_labels", "predict", NB06,
    "scores in one order, labels in another: what top-1 do you expect (a fraction, to 0.05)?",
    _misaligned, _check_misaligned,
    explanation="each prediction is compared with a random other sample's label: chance, 1 / number of classes.",
    hint="a shuffled label is a label of a random other sample; how many classes are there, and how often is a random "
         "label the predicted one?",
    nudge="after the shuffle each prediction is compared with some other sample's label. Does the model's skill still "
          "help? How often would a prediction and an unrelated label agree?",
    stub="my_top1",
)  # fmt: skip


def _most_needed(test: Mapping[str, Any] | None = None, **_) -> str:
    from ..fusion import default_weights, fuse

    if test is None:
        raise TypeError("needs the notebook's test scores")
    full = default_weights(list(test))

    def top1(names):
        sc = fuse({s: test[s] for s in names}, {s: full[s] for s in names})
        return float((sc.probs.argmax(1) == sc.labels).mean())

    return min(test, key=lambda s: top1([t for t in test if t != s]))


def _check_most_needed(answer, test: Mapping[str, Any]) -> str:
    answer = read_choice(answer, list(test), "your stream")
    want = _most_needed(test)
    if answer != want:
        raise Wrong(f"leaving out {want} costs the fusion the most here; compare the differences with their intervals before ranking",
                    nudge="fuse the three other streams once per stream left out (fusion.fuse with pyskl's weights for "
                          "the rest) and compare the four top-1s: did you compute all four?")  # fmt: skip
    return f"yes: without {want} the fusion loses the most"


register(
    "most_needed_stream", "explore", NB06,
    "leave one stream out at a time (pyskl's weights for the rest): without which stream does the fused top-1 drop the most?",
    _most_needed, _check_most_needed,
    explanation="fuse the three other streams with fusion.fuse and compare top-1; the stream whose absence hurts most is the most needed.",
    hint="fuse({s: test[s] for s in rest}, {s: w[s] for s in rest}) for each set of three streams; top-1 is "
         "(probs.argmax(1) == labels).mean().",
    nudge="a strong stream is not always the most needed one: what matters is what the other three cannot make up for. "
          "Leave each stream out in turn and compare the fused top-1.",
    stub="my_stream",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# 07: 2D input
# ------------------------------------------------------------------------------------------------


def normalise_2d_solution(xy, img_shape):
    """pyskl's PreNormalize2D for coordinates: x in [0, w] and y in [0, h] to [-1, 1]; img_shape = (h, w)."""
    h, w = img_shape
    xy = np.asarray(xy, dtype=float)
    return np.stack([(xy[..., 0] - w / 2) / (w / 2), (xy[..., 1] - h / 2) / (h / 2)], axis=-1)


def _check_normalise_2d(fn) -> str:
    from ..data.pipeline import prenormalize_2d

    rng = np.random.default_rng(7)
    for h, w in ((1080, 1920), (480, 640)):
        xy = rng.uniform(0, 1, size=(1, 8, 17, 2)) * [w, h]
        got = call(fn, xy.copy(), (h, w), what=f"my_normalise for a {w}x{h} video")
        want = prenormalize_2d(xy, np.ones(xy.shape[:-1]), (h, w))[..., :2]
        mistakes = [
            ("width and height are swapped: img_shape is (height, width), and x runs along the width",
             normalise_2d_solution(xy, (w, h))),
            ("divided by the full width/height: the range is then [-0.5, 0.5]; divide by half of it", normalise_2d_solution(xy, (h, w)) / 2),
            ("not centred: subtract half the width (height) first", np.stack([xy[..., 0] / (w / 2), xy[..., 1] / (h / 2)], -1)),
        ]  # fmt: skip
        expect_array(got, want, f"my_normalise for a {w}x{h} video", mistakes, atol=1e-5,
                     axes=(counted_axis("person"), counted_axis("frame"), joint_axis("coco"), counted_axis("coordinate", "xy")))
    return "equal to the pipeline's PreNormalize2D coordinates for two image sizes"


register(
    "normalise_2d", "implement", NB07,
    "write `my_normalise(xy, img_shape)`: pixel coordinates (..., 2) to [-1, 1] as pyskl's PreNormalize2D; img_shape = (h, w)",
    normalise_2d_solution, _check_normalise_2d,
    hint="x' = (x - w/2) / (w/2), y' = (y - h/2) / (h/2).",
    stub="my_normalise",
)  # fmt: skip


def _stream_count(results: Any = None, **_) -> int:
    if results is None:
        raise TypeError("needs the notebook's streaming results")
    return len(results)


def _check_stream_count(answer, results: Any) -> str:
    value = read_number(answer, "streaming predictions over this input")
    if value != int(value):
        raise Unreadable(f"a count of predictions is a whole number, got {value:g}")
    expect_number(value, len(results), "streaming predictions over this input")
    return f"yes: {len(results)}, one every `stride` frames once enough frames have arrived"


register(
    "stream_count", "predict", NB07,
    "with the window and stride of the parameters, how many streaming predictions will this input give?",
    _stream_count, _check_stream_count,
    explanation="the predictor answers every `stride` frames once `min_frames` have arrived; frames / stride, rounded down.",
    hint="count the frames of the input (the reader printed them) and divide by the stride; the first prediction "
         "comes once min_frames = min(window, stride) frames have arrived.",
    nudge="a prediction comes every `stride` frames, once `min_frames` frames have arrived (the cell sets min_frames = "
          "min(window, stride)). How many frames does this input have?",
    stub="my_count",
)  # fmt: skip
