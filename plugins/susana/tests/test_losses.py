"""Episode losses: the combination divides by the number of terms; names are validated."""

import math

import pytest
import torch
from latentzoo.config import LossSpec
from latentzoo.errors import UserError
from latentzoo_susana.losses import EpisodeLoss
from latentzoo_susana.models import ProtoNet
from torch import nn


def hand_episode():
    # 2-way 1-shot 1-query, 1-D identity embeddings: support 0 (class 0), 4 (class 1);
    # queries 1 (class 0), 3 (class 1)
    return {"support_x": torch.tensor([[0.0], [4.0]], dtype=torch.float64), "support_y": torch.tensor([0, 1]),
            "query_x": torch.tensor([[1.0], [3.0]], dtype=torch.float64), "query_y": torch.tensor([0, 1])}


# by hand: logits q0 = (-1, -9), q1 = (-9, -1) -> CE = log(1 + e^-8)
CE = math.log1p(math.exp(-8))
# PT: d+ = 1, d- = 3 for both queries -> max(1 - 3 + 0.5, 0) = 0
PT = 0.0
# ICNN full on [0, 4, 1, 3], labels [0, 1, 0, 1]; n = 4 -> k = 2, ipc = shot + query = 2:
# a_i = 1/3, 1/3, 1/2, 1/2 -> lambda_sc = 1 - 1.666667/4; other distances 3, 3, 2, 2 / 3 -> lambda_dc = 0.833333
# score = ((0.583333 + 0.833333)/2 + 1)/2 = 0.854167
ICNN = -math.log(0.854167)


@pytest.mark.parametrize("terms, expected", [
    (("cross",), CE),
    (("cross", "prototriplet"), (CE + PT) / 2),
    (("prototriplet", "fullicnn"), (PT + ICNN) / 2),
    (("cross", "prototriplet", "fullicnn"), (CE + PT + ICNN) / 3),
])
def test_combination_is_sum_over_number_of_terms(terms, expected):
    out = EpisodeLoss(terms)(nn.Identity(), hand_episode())
    assert out["loss"].item() == pytest.approx(expected, abs=1e-5)
    assert out["episode_acc"].item() == 1.0


def test_single_terms_are_reported():
    out = EpisodeLoss(("cross", "prototriplet", "fullicnn"))(nn.Identity(), hand_episode())
    assert out["cross"].item() == pytest.approx(CE, abs=1e-6)
    assert out["fullicnn"].item() == pytest.approx(ICNN, abs=1e-5)


def test_temperature_divides_the_logits():
    # T = 2: logits (-0.5, -4.5) -> CE = log(1 + e^-4)
    out = EpisodeLoss(("cross",), temperature=2.0)(nn.Identity(), hand_episode())
    assert out["loss"].item() == pytest.approx(math.log1p(math.exp(-4)), abs=1e-6)


def test_misspelt_term_fails_instead_of_being_skipped():
    # the FewShot-KidneyStones scripts pass 'fullicn': the official substring test skips ICNN
    with pytest.raises(UserError, match="fullicnn"):
        LossSpec.of("susana.combined", terms=["cross", "prototriplet", "fullicn"])
    with pytest.raises(UserError, match="twice"):
        LossSpec.of("susana.combined", terms=["cross", "cross"])
    with pytest.raises(UserError, match="margin"):
        LossSpec.of("susana.combined", margin=-1.0)


def test_loss_without_episode_says_which_sampler_to_use():
    with pytest.raises(UserError, match="susana.episodic"):
        EpisodeLoss(("cross",))(nn.Identity(), {"x": torch.zeros(2, 1), "y": torch.zeros(2)})


@pytest.mark.parametrize("terms", [("suppicnn",), ("queryicnn",), ("cross", "prototriplet", "fullicnn")])
def test_backward_through_protonet_is_finite(terms):
    torch.manual_seed(0)
    model = ProtoNet((1, 8, 8), channels=8)
    episode = {"support_x": torch.randn(6, 1, 8, 8), "support_y": torch.arange(3).repeat_interleave(2),
               "query_x": torch.randn(9, 1, 8, 8), "query_y": torch.arange(3).repeat_interleave(3)}
    out = EpisodeLoss(terms, query_target="prototypes")(model, episode)
    out["loss"].backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
