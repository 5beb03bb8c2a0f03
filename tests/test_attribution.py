"""Gradient-based joint importance: cases where the answer is known (a model that only looks at one
joint; a linear model; the class activation map of a mean-pooling head), shapes and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aagcn_lab.attribution import Attribution, by_class, grad_cam, gradient_x_input
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


def _clips(n=3, t=6, seed=0):
    return torch.randn(n, 2, t, 25, 3, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("joint", [0, 11, 23])
def test_a_model_that_looks_at_one_joint_gets_all_the_importance_there(joint):
    model = OneJoint(joint)
    att = gradient_x_input(model, _clips(t=8))
    assert att.values.shape == (3, 2, 8, 25)
    shares = att.joints()  # (N, M, V)
    # shares |v| / sum|v|: f64 over 2 x 25 = 50 terms, 1.1e-14 < allclose's 1e-5 (both)
    assert np.allclose(shares.sum((1, 2)), 1.0)
    assert np.allclose(shares[:, :, joint].sum(1), 1.0)  # all of it on that joint (both persons together)
    others = np.delete(att.values, joint, axis=3)
    # exact: the gradient of a logit that never reads those joints is 0, and 0 x input is 0
    assert np.abs(others).max() == 0.0 and np.abs(att.values[..., joint]).max() > 0


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
    assert ((out["correct"] == 0) | (out["correct"] == 1)).all()
    with pytest.raises(ValueError, match="method must be one of"):
        class_importance(model, ds, method="saliency")
    names = [f"j{i}" for i in range(25)]
    fig = plot_attention_vs_attribution(np.linspace(0, 1, 25), out["joints"][0], names)
    bars = [p.get_height() for p in fig.axes[1].patches]
    assert bars == pytest.approx(out["joints"][0].tolist())  # the bars hold the same floats (approx: slack)
    with pytest.raises(ValueError, match="expected 25 values"):
        plot_attention_vs_attribution(np.zeros(24), out["joints"][0], names)
