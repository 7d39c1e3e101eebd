"""The auto-encoder's densities, informative embeddings (spec test 4) and reconstruction error."""

import math

import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.data import DataInfo
from latentzoo.errors import UserError

from latentzoo_cmim.metrics import (InformativeEmbeddingConfig, ReconstructionConfig,
                                    informative_embedding, informative_probe, reconstruction)
from latentzoo_cmim.models import (AutoEncoderConfig, GaussianAutoEncoder, autoencoder,
                                   bernoulli_log_prob)


def _model(**fields):
    torch.manual_seed(0)
    return GaussianAutoEncoder((64,), AutoEncoderConfig(**({"latent_dim": 4, "hidden": (16, 8)} | fields)))


def test_shapes_and_embed_is_mu():
    model = _model()
    x = torch.rand(3, 64)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (3, 4)
    assert torch.equal(model.embed(x), mu) and torch.equal(model(x), mu)
    assert model.reconstruct(mu).shape == (3, 64)


def test_logvar_clamped():
    model = _model(logvar_min=-1.0, logvar_max=0.5)
    with torch.no_grad():
        model.encoder[-1].bias[4:] = 100.0
    assert model.encode(torch.rand(2, 64))[1].max().item() == 0.5
    with torch.no_grad():
        model.encoder[-1].bias[4:] = -100.0
    assert model.encode(torch.rand(2, 64))[1].min().item() == -1.0


def test_gaussian_decoder_uses_fixed_sigma():
    model = _model(sigma_x=0.1)
    z = torch.zeros(1, 4)
    x = model.decode(z).detach() + 0.1  # one σ_x off in every pixel
    # Σ_d [−½ log 2π − log 0.1 − ½] over 64 pixels
    expected = 64 * (-0.5 * math.log(2 * math.pi) - math.log(0.1) - 0.5)
    assert model.log_likelihood(x, z).item() == pytest.approx(expected, rel=1e-5)


def test_bernoulli_log_prob_hand_value():
    # logits 0 → p = ½: each pixel contributes log ½ whatever x ∈ [0, 1]
    value = bernoulli_log_prob(torch.tensor([[0.0, 1.0, 0.3]]), torch.zeros(1, 3))
    assert value.item() == pytest.approx(3 * math.log(0.5), abs=1e-6)
    # logit log 3 → p = ¾; x = 1: log ¾
    value = bernoulli_log_prob(torch.tensor([[1.0]]), torch.tensor([[math.log(3.0)]]))
    assert value.item() == pytest.approx(math.log(0.75), abs=1e-6)


def test_informative_embedding_dim_and_determinism():
    model = _model()
    x = torch.rand(5, 64)
    e1 = informative_embedding(model, x)
    e2 = informative_embedding(model, x)
    assert e1.shape == (5, 4 + 8 + 16)  # d_z + decoder widths (8, 16)
    assert torch.equal(e1, e2)
    mu = model.encode(x)[0]
    assert torch.equal(e1[:, :4], mu)
    # the second block is SiLU(W1 μ + b1): the decoder's first hidden activation
    first = torch.nn.functional.silu(model.decoder[0](mu))
    assert torch.allclose(e1[:, 4:12], first)


class _FakeEvaluator:
    """Just enough of latentzoo.evaluation.Evaluator for the metric functions."""

    def __init__(self, model, splits):
        self.model, self.splits = model, splits

    def predict(self, fn, split=None, model=None):
        with torch.no_grad():
            return fn(model or self.model, self.splits[split or "test"])

    def labels(self, split=None):
        return self.splits[split or "test"]["y"]


def test_reconstruction_mse_hand_value():
    model = _model()
    x = torch.rand(4, 64)
    with torch.no_grad():
        model.decoder[-1].weight.zero_()
        model.decoder[-1].bias.fill_(0.5)  # the decoder always outputs 0.5
    metric = reconstruction(ReconstructionConfig(), None)
    value = metric(_FakeEvaluator(model, {"test": {"x": x}}))["reconstruction_mse"]
    assert value == pytest.approx(((x - 0.5) ** 2).mean().item(), rel=1e-6)


def test_informative_probe_separable_data():
    model = _model()
    torch.manual_seed(1)
    y = torch.arange(40) % 2
    x = torch.rand(40, 64) * 0.1 + y[:, None].float()  # two far-apart clusters
    splits = {"train": {"x": x[:30], "y": y[:30]}, "test": {"x": x[30:], "y": y[30:]}}
    for representation in ("informative", "mean"):
        metric = informative_probe(InformativeEmbeddingConfig(representation=representation, k=3), None)
        values = metric(_FakeEvaluator(model, splits))
        assert values[f"{representation}_linear_probe"] == 1.0
        assert values[f"{representation}_knn_accuracy"] == 1.0
    assert values["mean_dim"] == 4.0


def test_metrics_need_an_autoencoder():
    evaluator = _FakeEvaluator(torch.nn.Linear(64, 4), {"test": {"x": torch.rand(2, 64), "y": torch.zeros(2)}})
    with pytest.raises(UserError, match="cmim.autoencoder"):
        informative_probe(InformativeEmbeddingConfig(), None)(evaluator)
    with pytest.raises(UserError, match="cmim.autoencoder"):
        reconstruction(ReconstructionConfig(), None)(evaluator)


def test_factory_validates():
    ctx = BuildContext(data=DataInfo(input_shape=(1, 8, 8), num_classes=10))
    model = autoencoder(AutoEncoderConfig(latent_dim=2, hidden=(4,)), ctx)
    assert model.reconstruct(torch.zeros(3, 2)).shape == (3, 1, 8, 8)
    with pytest.raises(UserError, match="logvar_min"):
        autoencoder(AutoEncoderConfig(logvar_min=3.0, logvar_max=2.0), ctx)
    with pytest.raises(UserError, match="data"):
        autoencoder(AutoEncoderConfig(), None)


def test_contrastive_term_metric_hand_value():
    from latentzoo_cmim.metrics import ContrastiveTermConfig, contrastive_term

    class Codes(torch.nn.Module):
        def encode(self, x):
            return x, torch.zeros_like(x)

    # two chunks of 2: [e1, −e1] → each ℓ = log(1 + e^{−2/τ}); [e2, e2] → log 2 each
    x = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    metric = contrastive_term(ContrastiveTermConfig(temperature=1.0, batch_size=2), None)
    value = metric(_FakeEvaluator(Codes(), {"test": {"x": x}}))["contrastive_term"]
    expected = (2 * math.log(1 + math.exp(-2.0)) + 2 * math.log(2)) / 4
    assert value == pytest.approx(expected, abs=1e-9)
