import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.data import DataInfo
from latentzoo.errors import UserError
from latentzoo_contrastive_temperature.models import SphereMLPConfig, mlp_encoder


def test_mlp_encoder_is_on_the_sphere():
    model = mlp_encoder(SphereMLPConfig(), BuildContext(data=DataInfo(input_shape=(64,))))
    assert [m.__class__.__name__ for m in model.net] == [
        "Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert [m.out_features for m in model.net if isinstance(m, torch.nn.Linear)] == [256, 256, 64]
    z = model(torch.rand(10, 1, 8, 8))
    assert z.shape == (10, 64)
    assert torch.allclose(z.norm(dim=1), torch.ones(10), atol=1e-5)
    assert torch.equal(model.embed(torch.ones(3, 64)), model(torch.ones(3, 64)))


def test_mlp_encoder_needs_data():
    with pytest.raises(UserError, match="data"):
        mlp_encoder(SphereMLPConfig(), BuildContext())
