"""build_set counts and labels, the adversarial sampler, BCE, balanced accuracy, AUROC."""

import math

import pytest
import torch
from latentzoo.build import BuildContext
from torch import nn

from latentzoo_omat.attack import quantise
from latentzoo_omat.data import EXTRA, REAL, STANDARD, DetectorSetConfig, RealDigitsConfig, detector_set, real_digits
from latentzoo_omat.losses import BCEConfig, DetectorBCE
from latentzoo_omat.metrics import auroc, balanced_accuracy
from latentzoo_omat.models import ProbeConfig, detector_probe
from latentzoo_omat.samplers import LatentAttackConfig, LatentAttackSampler


class ZeroEps(nn.Module):
    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(1))

    def forward(self, x, t):
        return torch.zeros_like(x)


def _set(num_fakes=30, num_extra=20):
    config = DetectorSetConfig(timesteps=20, sampling_steps=2, num_fakes=num_fakes,
                               num_extra=num_extra, num_test_fakes=10)
    return detector_set(config, BuildContext(seed=0, artifacts={"generator": ZeroEps()}))


def test_real_digits_are_the_17_levels():
    data = real_digits(RealDigitsConfig(labels="class"), None)
    x = data.split("train")["x"]
    assert x.min() == -1 and x.max() == 1 and torch.equal(quantise(x), x)
    assert len(torch.unique(x)) == 17 and data.split("train")["y"].max() == 9


def test_build_set_counts_labels_and_quantisation():
    # spec test 5: adversarial (extra) slots are labelled 1, counts match the arm, reals keep
    # their class balance (the core's stratified split: 1198 train digits)
    data = _set()
    train = data.split("train")
    slot, y = train["slot"], train["y"]
    assert (slot == REAL).sum() == 1198 and (slot == STANDARD).sum() == 30 and (slot == EXTRA).sum() == 20
    assert torch.equal(y, (slot != REAL).float())
    assert torch.equal(quantise(train["x"]), train["x"])
    assert torch.equal(train["index"], torch.arange(len(slot)))
    assert (train["z"][slot == REAL] == 0).all() and (train["z"][slot == EXTRA] != 0).all()
    real_classes = real_digits(RealDigitsConfig(labels="class"), None).split("train")["y"]
    counts = torch.bincount(real_classes)
    assert counts.min() >= 116 and counts.max() <= 122  # stratified 2/3 of 174..183 per class
    test = data.split("test")
    assert (test["slot"] == EXTRA).sum() == 0 and (test["y"] == 1).sum() == 10


def test_sampler_replaces_only_extra_slots_and_keeps_labels():
    data = _set(num_fakes=6, num_extra=4)

    class Fake(nn.Module):  # says "fake" until the mean pixel drops below −0.9
        def __init__(self):
            super().__init__()
            self.p = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return 10 * (x.flatten(1).mean(1) + 0.9) + 0 * self.p

    ctx = BuildContext(data=data.info, splits=data, seed=0,
                       artifacts={"generator": ZeroEps(), "target": Fake()})
    sampler = LatentAttackSampler(LatentAttackConfig(timesteps=20, sampling_steps=2, clip=0.0, max_steps=3), ctx)
    batch = {k: v[-12:] for k, v in data.split("train").items()}
    out = sampler(batch)
    extra = batch["slot"] == EXTRA
    assert torch.equal(out["x"][~extra], batch["x"][~extra])
    assert torch.equal(out["y"], batch["y"]) and (out["y"][extra] == 1).all()
    assert not torch.equal(out["x"][extra], batch["x"][extra])
    assert torch.equal(quantise(out["x"]), out["x"])


def test_bce_by_hand():
    loss = DetectorBCE(BCEConfig())
    # logits [0, 2], labels [1, 0]: (log 2 + log(1 + e²))/2
    out = loss(lambda x: x, {"x": torch.tensor([0.0, 2.0]), "y": torch.tensor([1.0, 0.0])})
    assert out["loss"].item() == pytest.approx((math.log(2) + math.log(1 + math.e ** 2)) / 2, rel=1e-6)


def test_balanced_accuracy_on_hand_made_confusion_matrix():
    # spec test 6: scores [2, −3, −1, 0.5], labels [1, 1, 0, 0]: TP 1, FN 1, TN 1, FP 1 → 0.5
    labels = torch.tensor([1, 1, 0, 0])
    assert balanced_accuracy(torch.tensor([2.0, -3.0, -1.0, 0.5]), labels) == 0.5
    # scores [2, 3, −1, 0.5]: TPR 1, TNR 1/2 → 0.75
    assert balanced_accuracy(torch.tensor([2.0, 3.0, -1.0, 0.5]), labels) == 0.75
    # unbalanced: 3 fakes all caught, 1 real flagged → (1 + 0)/2
    assert balanced_accuracy(torch.tensor([1.0, 1.0, 1.0, 1.0]), torch.tensor([1, 1, 1, 0])) == 0.5


def test_auroc_by_hand():
    # pairs (fake, real): fakes {0.9, 0.4}, reals {0.5, 0.1}: 3 of 4 pairs ordered → 0.75
    assert auroc(torch.tensor([0.9, 0.4, 0.5, 0.1]), torch.tensor([1, 1, 0, 0])) == 0.75


def test_probe_trains_only_the_low_rank_head():
    model = detector_probe(ProbeConfig(channels=8, rank=4), None)
    names = {n for n, _ in model.named_parameters()}
    assert names == {"down.weight", "up.weight", "up.bias"}
    assert model(torch.zeros(3, 64)).shape == (3,)


def test_bad_settings_are_named():
    from latentzoo_omat.attack import Generator, GeneratorConfig
    from latentzoo_omat.metrics import XGenConfig, xgen

    with pytest.raises(ValueError, match="sampling_steps = 20 exceeds timesteps = 10"):
        Generator(ZeroEps(), GeneratorConfig(timesteps=10, sampling_steps=20))
    with pytest.raises(ValueError, match="unseen must be"):
        xgen(XGenConfig(unseen=("B", "C")), None)


def test_detector_set_without_generator_says_what_to_add():
    from latentzoo.errors import MissingDataError

    with pytest.raises(MissingDataError, match="inputs = { generator"):
        detector_set(DetectorSetConfig(), BuildContext(seed=0))
