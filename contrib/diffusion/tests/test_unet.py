import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.data import DataInfo
from latentzoo.errors import UserError
from latentzoo_diffusion.samplers import DDIMConfig, DDIMSampler
from latentzoo_diffusion.unet import TinyUNet, TinyUNetConfig, tiny_unet


@pytest.mark.parametrize("shape, channels", [((1, 8, 8), (16, 32)), ((1, 32, 32), (8, 16, 16))])
def test_unet_shapes_and_gradients(shape, channels):
    torch.manual_seed(0)
    net = TinyUNet(shape[0], channels, time_dim=16)
    x = torch.randn(3, *shape)
    out = net(x, torch.tensor([0.0, 10.0, 100.0]))
    assert out.shape == x.shape
    assert torch.equal(out, torch.zeros_like(out))  # zero-initialised output conv
    torch.nn.init.normal_(net.out.weight)
    net(x, 5.0).square().mean().backward()
    assert net.stem.weight.grad is not None and torch.isfinite(net.stem.weight.grad).all()


def test_unet_factory_checks_the_shape():
    ctx = BuildContext(data=DataInfo(input_shape=(64,)))
    with pytest.raises(UserError, match="image data"):
        tiny_unet(TinyUNetConfig(), ctx)
    ctx = BuildContext(data=DataInfo(input_shape=(1, 6, 6)))
    with pytest.raises(UserError, match="not divisible by 2\\^\\(levels − 1\\) = 4"):
        tiny_unet(TinyUNetConfig(channels=(8, 8, 8)), ctx)


def test_ddim_samples_images():
    ctx = BuildContext(data=DataInfo(input_shape=(1, 8, 8)))
    net = tiny_unet(TinyUNetConfig(channels=(8, 16), time_dim=16), ctx)
    samples = DDIMSampler(DDIMConfig(steps=3, timesteps=20), ctx).sample(net, 4)
    assert samples.shape == (4, 1, 8, 8) and torch.isfinite(samples).all()
