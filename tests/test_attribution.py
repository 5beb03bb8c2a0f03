"""Gradient-based joint importance: cases where the answer is known (a model that only looks at one
joint; a linear model; a translation-invariant model whose far joints do not matter most; the class
activation map of a mean-pooling head), shapes and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aagcn_lab.attribution import (
    METHODS,
    Attribution,
    by_class,
    grad_cam,
    gradient_magnitude,
    gradient_x_input,
    integrated_gradients,
    mean_pose,
)
from aagcn_lab.model.aagcn import AAGCN

from .conftest import perturb
from .tolerances import float_bound

SMALL = dict(layout="nturgb+d", num_classes=5, base_channels=8, num_stages=3, inflate_stages=(), down_stages=(3,))


class OneJoint(torch.nn.Module):
    """An AAGCN that sees only one joint: every other joint's coordinates are zeroed on the way in."""

    def __init__(self, joint: int) -> None:
        super().__init__()
        self.inner = perturb(AAGCN(**SMALL))
        self.mask = torch.zeros(25, 1)
        self.mask[joint] = 1.0

    def forward(self, x):
        return self.inner(x * self.mask)


class Linear(torch.nn.Module):
    """Logits linear in the input: the sum of gradient x input is the logit minus its bias."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.w = torch.randn(4, 2, 6, 25, 3, generator=g)
        self.b = torch.randn(4, generator=g)

    def forward(self, x):
        return torch.einsum("nmtvc,kmtvc->nk", x, self.w) + self.b


class Recentred(torch.nn.Module):
    """An AAGCN fed every frame relative to SpineMid (joint 1): moving the whole body changes nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = perturb(AAGCN(**SMALL))

    def forward(self, x):
        return self.inner(x - x[:, :, :, 1:2])


class HandAndFoot(torch.nn.Module):
    """Logits that read HandRight (11) with weight 2 and FootRight (19) with weight 1, both as heights
    above SpineMid (1): translation-invariant, and the hand matters twice as much as the foot."""

    def forward(self, x):
        rel = x[..., 1] - x[:, :, :, 1:2, 1]  # (N, M, T, V) heights relative to SpineMid
        score = (2 * rel[..., 11] + rel[..., 19]).sum((1, 2))
        return torch.stack([score, -score], 1)


def _clips(n=3, t=6, seed=0):
    return torch.randn(n, 2, t, 25, 3, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("method", [gradient_x_input, gradient_magnitude, integrated_gradients], ids=lambda f: f.__name__)
@pytest.mark.parametrize("joint", [0, 11, 23])
def test_a_model_that_looks_at_one_joint_gets_all_the_importance_there(joint, method):
    model = OneJoint(joint)
    att = method(model, _clips(t=8))
    assert att.values.shape == (3, 2, 8, 25)
    shares = att.joints()  # (N, M, V)
    # shares |v| / sum|v|: f64 over 2 x 25 = 50 terms, 1.1e-14 < allclose's 1e-5 (both)
    assert np.allclose(shares.sum((1, 2)), 1.0)
    assert np.allclose(shares[:, :, joint].sum(1), 1.0)  # all of it on that joint (both persons together)
    others = np.delete(att.values, joint, axis=3)
    # exact: the gradient of a logit that never reads those joints is 0 (at every point of a path too), and 0 x input is 0
    assert np.abs(others).max() == 0.0 and np.abs(att.values[..., joint]).max() > 0


def test_a_translation_invariant_model_does_not_rank_a_far_joint_first():
    """The foot sits 1 m below SpineMid, the hand 0.3 m; the hand is raised 0.4 m from a rest pose.
    The model weighs the hand twice the foot. Gradient x input ranks the foot first (its product grows
    with the distance from the origin); the gradient's size and integrated gradients from the rest pose
    do not."""
    rest = torch.zeros(1, 2, 4, 25, 3, dtype=torch.float64)
    rest[:, 0, :, :, 1] = -0.3  # person 0: every joint a little below SpineMid, person 1 absent (zeros)
    rest[:, 0, :, 1] = 0.0
    rest[:, 0, :, 19, 1] = -1.0  # FootRight
    rest[:, 0, :, 11, 1] = -0.1  # HandRight, down
    x = rest.clone()
    x[:, 0, :, 11, 1] = 0.3  # the hand raised by 0.4 m
    model = HandAndFoot()
    gxi, size = gradient_x_input(model, x, [0]).joints(person=0)[0], gradient_magnitude(model, x, [0]).joints(person=0)[0]
    ig = integrated_gradients(model, x, [0], baseline=rest).joints(person=0)[0]
    assert np.argmax(gxi) == 19  # the artefact: 1 x 1.0 m for the foot beats 2 x 0.3 m for the hand
    assert np.argmax(size) == 1 and size[11] > size[19]  # SpineMid is read by both terms (2 + 1), then the hand
    assert np.argmax(ig) == 11 and ig[19] == 0.0  # exact: the foot did not move from the rest pose, (x - rest) = 0 there


def test_moving_the_whole_body_changes_the_size_of_the_gradient_and_integrated_gradients_not_at_all():
    """A model fed each frame relative to SpineMid: the body moved 4 m away gives the same importance
    under |gradient| and integrated gradients from the mean pose, but not under gradient x input."""
    g = torch.Generator().manual_seed(3)
    x = torch.zeros(2, 2, 8, 25, 3)
    x[:, 0] = torch.randint(-2048, 2048, (2, 8, 25, 3), generator=g) / 1024  # person 1 absent
    far = x.clone()
    far[:, 0] += torch.tensor([4.0, -4.0, 4.0])
    model = Recentred()
    # exact (bitwise): the values are on a 2^-10 grid and 16 present frames average them, so the mean pose, every
    # path point base + (k + 1/2)/16 (x - base) and x - x[SpineMid] need at most 22 bits and round nowhere; the
    # model therefore sees the same numbers for both bodies
    for method in (gradient_magnitude, integrated_gradients):
        assert np.array_equal(method(model, far, [1, 3]).values, method(model, x, [1, 3]).values), method.__name__
    assert not np.allclose(gradient_x_input(model, far, [1, 3]).joints(), gradient_x_input(model, x, [1, 3]).joints())


def test_integrated_gradients_of_a_linear_model_is_the_difference_from_the_baseline_times_the_weights():
    model, x = Linear(), _clips(2)
    target = [2, 0]
    base = torch.as_tensor(mean_pose(x), dtype=torch.float32)  # every frame of _clips is present
    att = integrated_gradients(model, x, target)
    w = model.w[target].double()  # (N, M, T, V, C)
    terms = ((x.double() - base.double()) * w).numpy()
    # f32: 16 equal gradients accumulated, divided by 16, times (x - base), summed over C = 3: 20 roundings of sum|terms|
    assert (np.abs(att.values - terms.sum(-1)) <= float_bound(np.float32, terms=20) * np.abs(terms).sum(-1)).all()
    with torch.no_grad():
        change = (model(x) - model(base.expand_as(x))).double().numpy()[[0, 1], target]
    # completeness: the values add up to the logit's change from the baseline; f32 over M x T x V x C = 900 terms
    total = np.abs(terms).sum((1, 2, 3, 4))
    assert (np.abs(att.values.sum((1, 2, 3)) - change) <= float_bound(np.float32, terms=920) * total).all()
    assert att.target.tolist() == target and att.method == "integrated gradients (16 steps)"


def test_the_mean_pose_counts_only_frames_where_a_person_is_present():
    x = torch.zeros(2, 2, 3, 25, 3)
    x[0, 0] = 1.0
    x[1, 0, :2] = 4.0  # frame 2 of sample 1 is empty, and person 1 is absent everywhere
    # exact: (3 x 1 + 2 x 4) / 5 = 2.2 in f64, the same division on both sides
    assert np.array_equal(mean_pose(x), np.full((25, 3), 11.0 / 5))
    model = OneJoint(3)
    att = integrated_gradients(model, x)
    # exact: an absent person or frame gets the baseline 0 there, so x - baseline = 0 and so is its importance
    assert np.abs(att.values[:, 1]).max() == 0.0 and np.abs(att.values[1, 0, 2]).max() == 0.0
    with pytest.raises(ValueError, match=r"every frame of the batch is empty"):
        mean_pose(torch.zeros(1, 2, 3, 25, 3))
    with pytest.raises(ValueError, match=r"mean_pose needs a batch \(N, M, T, V, C\), got shape \(3, 25, 3\)"):
        mean_pose(torch.zeros(3, 25, 3))
    with pytest.raises(ValueError, match=r"baseline must be 'mean pose', a pose \(25, 3\) or the input's shape"):
        integrated_gradients(model, x, baseline=np.zeros((24, 3)))
    with pytest.raises(ValueError, match="steps must be a positive whole number, got 0"):
        integrated_gradients(model, x, steps=0)


def test_gradient_x_input_of_a_linear_model_adds_up_to_the_logit_minus_the_bias():
    model, x = Linear(), _clips(4)
    target = [0, 3, 1, 1]
    att = gradient_x_input(model, x, target)
    with torch.no_grad():
        logits = model(x)
    want = (logits[torch.arange(4), torch.tensor(target)] - model.b[target]).double().numpy()
    # f32 einsum of M x T x V x C = 900 products: |error| <= 900 eps sum|terms| (cancellation can make the
    # logit much smaller than sum|terms|, so the bound is on that sum, not relative to the logit)
    terms = np.abs(att.values).sum((1, 2, 3))
    assert (np.abs(att.values.sum((1, 2, 3)) - want) <= float_bound(np.float32, terms=900) * terms).all()
    assert att.target.tolist() == target and att.method == "gradient x input"
    assert gradient_x_input(model, x).target.tolist() == logits.argmax(1).tolist()  # default: the predicted class


def test_grad_cam_of_a_mean_pooling_head_is_the_class_activation_map():
    model = perturb(AAGCN(**SMALL)).eval()
    x = _clips(2, t=12)
    cam = grad_cam(model, x, [1, 4])
    with torch.no_grad():
        feat = model.forward_features(x)  # (N, M, C, T', V)
    w = model.cls_head.fc_cls.weight.detach()[[1, 4]]  # (N, C)
    m, t, v = feat.shape[1], feat.shape[3], feat.shape[4]
    want = torch.relu(torch.einsum("nc,nmctv->nmtv", w, feat) / (m * t * v)).double().numpy()
    assert cam.values.shape == (2, 2, t, 25) and t == 6  # the last block runs at half the frames
    # f32: the same features (same forward); a sum over C = 8 channels and the 1 / (M T' V) scaling on each
    # side, 10 roundings of sum|w f| / (M T' V) (where the sum cancels, that sum and not the value sets the error)
    scale = (torch.einsum("nc,nmctv->nmtv", w.abs(), feat.abs()) / (m * t * v)).double().numpy()
    assert (np.abs(cam.values - want) <= float_bound(np.float32, terms=10) * scale).all() and (cam.values >= 0).all()
    assert model.training is False
    model.train()
    grad_cam(model, x)
    assert model.training is True  # the model's mode is restored


def test_bad_input_is_refused_with_what_is_wrong():
    model = Linear()
    with pytest.raises(ValueError, match=r"batch \(N, M, T, V, C\), got shape \(2, 6, 25, 3\)"):
        gradient_x_input(model, torch.zeros(2, 6, 25, 3))
    x = _clips(3)
    x[1, 0, 2, 4, 0] = float("nan")
    with pytest.raises(ValueError, match=r"NaN or infinite values \(samples \[1\]\)"):
        gradient_x_input(model, x)
    with pytest.raises(ValueError, match="one target class per sample: 3 samples, 2 targets"):
        gradient_x_input(model, _clips(3), [0, 1])
    with pytest.raises(ValueError, match=r"target classes must lie in \[0, 4\), got \[7\]"):
        gradient_x_input(model, _clips(3), [0, 7, 1])
    with pytest.raises(ValueError, match="float coordinates"):
        gradient_x_input(model, torch.zeros(1, 2, 6, 25, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="forward_features and forward_head"):
        grad_cam(model, _clips(1))


def test_shares_per_class_and_an_all_zero_sample():
    att = Attribution(np.zeros((2, 1, 3, 4)), np.array([0, 1]), "test")
    att.values[0, 0, :, 2] = [1.0, -2.0, 1.0]
    shares = att.joints()
    # exact (these four lines): 1 / 1, 0 / 1, quarters and halves, means of two small integers are exact floats
    assert shares[0, 0].tolist() == [0, 0, 1, 0] and shares[1].sum() == 0  # nothing to share: zeros, not NaN
    assert att.joints(person=0).tolist() == [[0, 0, 1, 0], [0, 0, 0, 0]]
    assert att.frames()[0, 0].tolist() == [0.25, 0.5, 0.25]
    classes, means = by_class(np.array([[1.0, 0], [3.0, 2], [5.0, 5]]), [2, 2, 0])
    assert classes.tolist() == [0, 2] and means.tolist() == [[5.0, 5.0], [2.0, 1.0]]
    with pytest.raises(ValueError, match="one label per sample: 3 rows, 2 labels"):
        by_class(np.zeros((3, 2)), [0, 1])


def test_class_importance_averages_the_samples_class_statistics_uses_and_the_figure_draws_them():
    from aagcn_lab import analysis
    from aagcn_lab.attribution import class_importance
    from aagcn_lab.data import SkeletonDataset
    from aagcn_lab.data.annotations import resolve_annotations
    from aagcn_lab.viz import plot_attention_vs_attribution

    ann = resolve_annotations("builtin")
    ds = SkeletonDataset(ann, "xsub_val", feat="j", mode="val", clip_len=8)
    model = OneJoint(7)
    model.inner = perturb(AAGCN(**{**SMALL, "num_classes": ann.num_classes}))
    out = class_importance(model, ds, per_class=1)
    x, labels, _ = analysis.batch_per_class(ds, 1)
    assert out["classes"] == sorted(set(labels)) and out["joints"].shape == (len(out["classes"]), 25)
    assert np.allclose(out["joints"][:, 7], 1.0)  # the one joint this model sees, for every class (f64 shares, as above)
    for method in METHODS[1:3]:  # |gradient| and integrated gradients (from the mean pose of the same samples)
        assert np.allclose(class_importance(model, ds, per_class=1, method=method)["joints"][:, 7], 1.0), method
    assert ((out["correct"] == 0) | (out["correct"] == 1)).all()
    with pytest.raises(ValueError, match="method must be one of"):
        class_importance(model, ds, method="saliency")
    names = [f"j{i}" for i in range(25)]
    fig = plot_attention_vs_attribution(np.linspace(0, 1, 25), out["joints"][0], names)
    bars = [p.get_height() for p in fig.axes[1].patches]
    assert bars == pytest.approx(out["joints"][0].tolist())  # the bars hold the same floats (approx: slack)
    with pytest.raises(ValueError, match="expected 25 values"):
        plot_attention_vs_attribution(np.zeros(24), out["joints"][0], names)
    two = plot_attention_vs_attribution(None, {"a": np.ones(25), "b": out["joints"][0]}, names)  # measures only, one row each
    assert len(two.axes) == 2 and [p.get_height() for p in two.axes[1].patches] == pytest.approx(out["joints"][0].tolist())
