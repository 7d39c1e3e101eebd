"""Hand-computed values of the A-MIM, VAE and cMIM objectives (spec tests 1-3 and 5).

Reference numbers are worked out by hand in the comments:
    log N(0.5; 0.5, 1) = log N(0; 0, 1) = −½ log 2π = −0.9189385
"""

import math

import pytest
import torch

from latentzoo_cmim.losses import (AMIMConfig, AMIMLoss, CMIMConfig, CMIMLoss, ContrastiveConfig,
                                   ContrastiveLoss, VAEConfig, VAELoss, amim_objective,
                                   contrastive_log_prob, cosine_logits, density_logits,
                                   vae_objective)
from latentzoo_cmim.models import AutoEncoderConfig, GaussianAutoEncoder, gaussian_log_prob
from latentzoo_cmim.priors import MixturePrior, StandardNormalPrior

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)  # 0.9189385


# -- test 1: the 1-D hand value -------------------------------------------------------------------


def test_gaussian_log_prob_hand_values():
    # x = 0.5, mean 0.5, σ = 1: −½ log 2π
    value = gaussian_log_prob(torch.tensor([[0.5]]), torch.tensor([[0.5]]), torch.tensor(0.0))
    assert value.item() == pytest.approx(-0.918939, abs=1e-6)
    # 2-D, x = (1, 0), mean 0, log σ² = (0, log 4): −½(log2π + 1) − ½(log2π + log 4 + 0)
    value = gaussian_log_prob(torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2),
                              torch.tensor([[0.0, math.log(4.0)]]))
    assert value.item() == pytest.approx(-0.5 * (2 * math.log(2 * math.pi) + 1 + math.log(4)), abs=1e-6)
    assert value.item() == pytest.approx(-3.031024, abs=1e-6)


def test_amim_hand_value_1d():
    lp = torch.tensor([-HALF_LOG_2PI])  # each of log p(x|z), log P(z), log q(z|x)
    # form=paper, β=1: −½(3 × −0.918939) = 1.378408
    assert amim_objective(lp, lp, lp, "paper", 1.0).item() == pytest.approx(1.378408, abs=1e-6)
    # form=impl: 0.918939 + ½(0.918939 + 0.918939) = 1.837877
    assert amim_objective(lp, lp, lp, "impl").item() == pytest.approx(1.837877, abs=1e-6)


def test_amim_hand_value_through_the_module():
    """The 1-D setting end to end: decoder mean 0.5 with σ_x = 1, z = 0, q = N(0, 1), P = N(0, 1)."""

    class Fixed(torch.nn.Module):
        def encode(self, x):
            return torch.zeros(len(x), 1), torch.zeros(len(x), 1)

        def reparameterize(self, mu, logvar):
            return mu  # z = 0

        def log_likelihood(self, x, z):
            return gaussian_log_prob(x, torch.full_like(x, 0.5), torch.tensor(0.0))

    x = {"x": torch.tensor([[0.5]])}
    paper = AMIMLoss(AMIMConfig(form="paper", latent_dim=1))(Fixed(), x)["loss"]
    impl = AMIMLoss(AMIMConfig(form="impl", latent_dim=1))(Fixed(), x)["loss"]
    assert paper.item() == pytest.approx(1.378408, abs=1e-6)
    assert impl.item() == pytest.approx(1.837877, abs=1e-6)
    # B = 1: the contrastive term is 0, so cmim.total equals A-MIM (impl)
    total = CMIMLoss(CMIMConfig(latent_dim=1))(Fixed(), x)["loss"]
    assert total.item() == pytest.approx(1.837877, abs=1e-6)


def test_mean_reconstruction_divides_log_px_by_the_feature_count():
    """Four features at the decoder mean with σ_x = 1: log p(x|z) = 4 × (−0.918939) summed, or
    −0.918939 averaged; z is 1-D with log P = log q = −0.918939."""

    class Fixed(torch.nn.Module):
        def encode(self, x):
            return torch.zeros(len(x), 1), torch.zeros(len(x), 1)

        def reparameterize(self, mu, logvar):
            return mu

        def log_likelihood(self, x, z):
            return gaussian_log_prob(x, torch.full_like(x, 0.5), torch.tensor(0.0))

    x = {"x": torch.full((2, 4), 0.5)}
    summed = AMIMLoss(AMIMConfig(latent_dim=1))(Fixed(), x)["loss"]
    averaged = AMIMLoss(AMIMConfig(latent_dim=1, reconstruction="mean"))(Fixed(), x)["loss"]
    assert summed.item() == pytest.approx(4 * 0.918939 + 0.918939, abs=1e-5)   # 4.594693
    assert averaged.item() == pytest.approx(0.918939 + 0.918939, abs=1e-5)     # 1.837877
    vae = VAELoss(VAEConfig(latent_dim=1, reconstruction="mean"))(Fixed(), x)["loss"]
    assert vae.item() == pytest.approx(0.918939, abs=1e-5)  # −lpx (averaged); log q − log P = 0


# -- test 2: form=paper, VAE identity ----------------------------------------------------------------


def test_paper_form_elementwise_and_vae_identity():
    lpx = torch.tensor([-1.0, -2.5, 0.3])
    lpz = torch.tensor([-3.0, -0.5, -1.2])
    lqz = torch.tensor([0.7, -1.1, 2.0])
    paper = amim_objective(lpx, lpz, lqz, "paper", 1.0)
    # −½(lpx + lpz + lqz) by hand: −½(−3.3) = 1.65, −½(−4.1) = 2.05, −½(1.1) = −0.55
    assert paper.tolist() == pytest.approx([1.65, 2.05, -0.55], abs=1e-6)
    vae = vae_objective(lpx, lpz, lqz, 1.0)
    # −lpx + lqz − lpz: 1 + 0.7 + 3 = 4.7, 2.5 − 1.1 + 0.5 = 1.9, −0.3 + 2 + 1.2 = 2.9
    assert vae.tolist() == pytest.approx([4.7, 1.9, 2.9], abs=1e-6)
    assert (vae - 2 * paper).tolist() == pytest.approx((2 * lqz).tolist(), abs=1e-6)


def test_paper_form_beta_and_marginal_qx():
    lpx, lpz, lqz = torch.tensor([-1.0]), torch.tensor([-3.0]), torch.tensor([0.7])
    # β = 0.5, q(x) dropped: −½(−1 − 3 + 0.35) = 1.825
    assert amim_objective(lpx, lpz, lqz, "paper", 0.5).item() == pytest.approx(1.825, abs=1e-6)
    # marginal q(x): −½(1 + β)(lpx + lpz), log q(z|x) cancels: −½·1.5·(−4) = 3.0
    marginal = amim_objective(lpx, lpz, lqz, "paper", 0.5, "marginal")
    assert marginal.item() == pytest.approx(3.0, abs=1e-6)
    other_lqz = amim_objective(lpx, lpz, torch.tensor([-9.0]), "paper", 0.5, "marginal")
    assert other_lqz.item() == pytest.approx(3.0, abs=1e-6)


def test_vae_beta():
    lpx, lpz, lqz = torch.tensor([-1.0]), torch.tensor([-3.0]), torch.tensor([0.7])
    # 1 + 0.25 · (0.7 + 3) = 1.925
    assert vae_objective(lpx, lpz, lqz, 0.25).item() == pytest.approx(1.925, abs=1e-6)


def test_unknown_forms_rejected():
    x = torch.zeros(1)
    with pytest.raises(ValueError, match="form"):
        amim_objective(x, x, x, "other")
    with pytest.raises(ValueError, match="q\\(x\\)"):
        amim_objective(x, x, x, "paper", 1.0, "other")


# -- test 3: the contrastive term ------------------------------------------------------------------


def test_contrastive_parallel_codes_give_log2():
    # s_ij = 1 everywhere: ℓ_i = −[1/τ − log(e^{1/τ} + e^{1/τ})] = log 2
    z = torch.tensor([[1.0, 2.0], [2.0, 4.0], [0.5, 1.0], [3.0, 6.0]])
    loss = -contrastive_log_prob(cosine_logits(z, 0.1))
    assert loss.tolist() == pytest.approx([math.log(2)] * 4, abs=1e-5)


def test_contrastive_opposite_pair():
    # B = 2, z2 = −z1: s_12 = −1; ℓ = −10 + log(e^{10} + e^{−10}) = log(1 + e^{−20}) ≈ 2.061e-9
    z = torch.tensor([[0.6, -0.8], [-0.6, 0.8]], dtype=torch.float64)
    loss = -contrastive_log_prob(cosine_logits(z, 0.1))
    assert loss.tolist() == pytest.approx([2.0611536e-9] * 2, rel=1e-5)


def test_contrastive_hand_value_three_codes():
    # z1 = e1, z2 = e2, z3 = e1 (τ = 1): s_11 = 1, s_12 = 0, s_13 = 1
    # ℓ_1 = −1 + log(e + (e^0 + e^1)/2) = −1 + log(e + 1.859141) = log 4.577423 − 1 = 0.521136
    # ℓ_2: s_21 = 0, s_23 = 0 → −1 + log(e + 1) = 0.313262
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    loss = -contrastive_log_prob(cosine_logits(z, 1.0))
    expected_1 = -1 + math.log(math.e + (1 + math.e) / 2)
    expected_2 = -1 + math.log(math.e + 1)
    assert expected_1 == pytest.approx(0.521136, abs=1e-6)
    assert expected_2 == pytest.approx(0.313262, abs=1e-6)
    assert loss.tolist() == pytest.approx([expected_1, expected_2, expected_1], abs=1e-9)


def test_contrastive_duplicated_negatives_unchanged():
    # duplicating every negative leaves the mean over negatives, hence ℓ_i, unchanged
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.3, 1.0, 0.2], [0.0, -0.4, 3.0]])
    own = logits.diagonal()
    # hand form: ℓ_0 = −2 + log(e² + (e^{0.5} + e^{−1})/2)
    hand = [-(own[0].item()) + math.log(math.exp(2) + (math.exp(0.5) + math.exp(-1)) / 2)]
    value = -contrastive_log_prob(logits)
    assert value[0].item() == pytest.approx(hand[0], abs=1e-6)
    # five examples whose anchor 0 sees negatives [0.5, −1, 0.5, −1]
    bigger = torch.full((5, 5), 0.0)
    bigger[0] = torch.tensor([2.0, 0.5, -1.0, 0.5, -1.0])
    assert (-contrastive_log_prob(bigger))[0].item() == pytest.approx(hand[0], abs=1e-6)


def test_contrastive_batch_of_one_is_zero():
    z = torch.tensor([[1.0, 2.0]], requires_grad=True)
    assert contrastive_log_prob(cosine_logits(z, 0.1)).tolist() == [0.0]


def test_density_logits_hand_value():
    # z_0 = 0; x_1 has μ = 1, log σ² = 0 (1-D): log q(z_0|x_1) = −½ log 2π − ½ = −1.418939
    z = torch.tensor([[0.0], [1.0]])
    mu = torch.tensor([[0.0], [1.0]])
    logvar = torch.zeros(2, 1)
    logits = density_logits(z, mu, logvar)
    assert logits[0, 1].item() == pytest.approx(-1.418939, abs=1e-6)
    assert logits[0, 0].item() == pytest.approx(-0.918939, abs=1e-6)


# -- test 5: gradients reach μ and log σ² through z and the cosine -----------------------------------


def _model(seed=0, latent=3):
    torch.manual_seed(seed)
    return GaussianAutoEncoder((6,), AutoEncoderConfig(latent_dim=latent, hidden=(8,)))


def test_total_gradients_reach_mu_and_logvar():
    model = _model()
    x = torch.rand(5, 6)
    mu, logvar = model.encode(x)
    mu.retain_grad()
    logvar.retain_grad()
    torch.manual_seed(1)
    z = model.reparameterize(mu, logvar)
    contrastive = -contrastive_log_prob(cosine_logits(z, 0.1)).mean()
    contrastive.backward()
    assert mu.grad.abs().sum() > 0 and logvar.grad.abs().sum() > 0

    loss_module = CMIMLoss(CMIMConfig(latent_dim=3))
    out = loss_module(model, {"x": x})
    out["loss"].backward()
    encoder_out = model.encoder[-1]
    # rows 0..2 of the last encoder layer produce μ, rows 3..5 produce log σ²
    assert encoder_out.weight.grad[:3].abs().sum() > 0
    assert encoder_out.weight.grad[3:].abs().sum() > 0


def test_total_is_amim_plus_weighted_contrastive():
    model = _model()
    x = torch.rand(7, 6)
    torch.manual_seed(3)
    total = CMIMLoss(CMIMConfig(latent_dim=3, weight=2.0))(model, {"x": x})
    torch.manual_seed(3)  # the same z
    amim = AMIMLoss(AMIMConfig(latent_dim=3))(model, {"x": x})["loss"]
    assert total["amim"].item() == pytest.approx(amim.item(), abs=1e-5)
    assert total["loss"].item() == pytest.approx(amim.item() + 2.0 * total["contrastive"].item(), abs=1e-5)
    torch.manual_seed(3)
    alone = ContrastiveLoss(ContrastiveConfig())(model, {"x": x})
    assert alone.item() == pytest.approx(total["contrastive"].item(), abs=1e-6)


def test_beta_warmup_counts_steps():
    loss = AMIMLoss(AMIMConfig(form="paper", warmup_steps=4, latent_dim=3))
    assert loss.beta_factor == 0.0
    loss.after_step(model=None, step=1)
    assert loss.beta_factor == 0.25
    loss.after_step(model=None, step=10)
    assert loss.beta_factor == 1.0
    assert "step" in loss.state_dict()  # checkpointed with the loss
    vae = VAELoss(VAEConfig(beta=0.5, warmup_steps=2, latent_dim=3))
    vae.after_step(model=None, step=1)
    assert vae.beta * vae.beta_factor == 0.25


# -- priors ----------------------------------------------------------------------------------------


def test_standard_normal_prior_hand_value():
    # z = (1, −2): −log 2π − ½(1 + 4) = −4.337877
    value = StandardNormalPrior()(torch.tensor([[1.0, -2.0]]))
    assert value.item() == pytest.approx(-math.log(2 * math.pi) - 2.5, abs=1e-6)


def test_mixture_prior_hand_value():
    prior = MixturePrior(latent_dim=1, components=2)
    with torch.no_grad():
        prior.means.copy_(torch.tensor([[0.0], [2.0]]))
        prior.logvars.zero_()
        prior.logits.copy_(torch.tensor([0.0, math.log(3.0)]))  # π = (1/4, 3/4)
    # z = 1: both components give N(1; ·, 1) = e^{−½}/√(2π); the mixture equals it
    value = prior(torch.tensor([[1.0]]))
    assert value.item() == pytest.approx(-0.5 * math.log(2 * math.pi) - 0.5, abs=1e-6)
    # z = 0: ¼ N(0;0,1) + ¾ N(0;2,1) = (¼ + ¾ e^{−2}) / √(2π)
    value = prior(torch.tensor([[0.0]]))
    expected = math.log(0.25 + 0.75 * math.exp(-2)) - 0.5 * math.log(2 * math.pi)
    assert value.item() == pytest.approx(expected, abs=1e-6)


def test_mixture_prior_truncation_hand_value():
    """The MIM repo's truncate_comps: logits below mean − std (sample std) leave the mixture."""
    prior = MixturePrior(latent_dim=1, components=3, truncate=True)
    with torch.no_grad():
        prior.means.copy_(torch.tensor([[0.0], [2.0], [1.0]]))
        prior.logvars.zero_()
        prior.logits.copy_(torch.tensor([0.0, 0.0, -3.0]))
    # mean −1, sample std √((1 + 1 + 4)/2) = √3: −3 < −1 − √3 = −2.732, so component 3 is dropped
    # and π = (½, ½, 0). z = 1: N(1; 0, 1) = N(1; 2, 1) = e^{−½}/√(2π), so log P = −½ − ½ log 2π
    z = torch.tensor([[1.0]])
    assert prior(z).item() == pytest.approx(-0.5 - 0.5 * math.log(2 * math.pi), abs=1e-6)
    # without truncation: π = (1, 1, e^{−3}) / (2 + e^{−3}), and N(1; 1, 1) = 1/√(2π)
    prior.truncate = False
    expected = (math.log((2 * math.exp(-0.5) + math.exp(-3)) / (2 + math.exp(-3)))
                - 0.5 * math.log(2 * math.pi))
    assert prior(z).item() == pytest.approx(expected, abs=1e-6)
    # equal logits (the initialisation) truncate nothing
    prior.truncate = True
    with torch.no_grad():
        prior.logits.zero_()
    expected = math.log((2 * math.exp(-0.5) + 1) / 3) - 0.5 * math.log(2 * math.pi)
    assert prior(z).item() == pytest.approx(expected, abs=1e-6)
    # the option reaches the prior through the loss config
    assert AMIMLoss(AMIMConfig(prior="mog", prior_truncate=True, latent_dim=2)).prior.truncate


def test_mog_prior_size_mismatch_is_a_user_error():
    from latentzoo.errors import UserError

    loss = AMIMLoss(AMIMConfig(prior="mog", latent_dim=5))
    with pytest.raises(UserError, match="latent_dim = 5"):
        loss(_model(latent=3), {"x": torch.rand(2, 6)})


def test_wrong_model_is_a_user_error():
    from latentzoo.errors import UserError

    with pytest.raises(UserError, match="cmim.autoencoder"):
        AMIMLoss(AMIMConfig())(torch.nn.Linear(6, 3), {"x": torch.rand(2, 6)})


# -- bad input: config ranges name the path ----------------------------------------------------------


@pytest.mark.parametrize("loss, message", [
    ({"name": "cmim.total", "temperature": 0.0}, "temperature"),
    ({"name": "cmim.total", "weight": -1.0}, "weight"),
    ({"name": "cmim.amim", "form": "symmetric"}, "form"),
    ({"name": "cmim.vae", "beta": -0.5}, "beta"),
])
def test_config_ranges_are_checked(loss, message):
    from latentzoo.errors import UserError
    from latentzoo.experiment import parse_experiment

    raw = {"stages": [{"kind": "train", "data": "builtin.digits", "model": "cmim.autoencoder",
                       "loss": loss}]}
    with pytest.raises(UserError, match=rf"stages\[0\]\.loss\.{message}"):
        parse_experiment(raw)
