"""Bad configs fail with the config path and the expected range."""

import pytest
from latentzoo.config import LossSpec, MetricSpec, ModelSpec, SamplerSpec
from latentzoo.errors import ConfigError


@pytest.mark.parametrize(("spec", "name", "fields", "message"), [
    (ModelSpec, "hyperspherical.hypersphere_classifier", {"scale": 0.0}, "scale: must be > 0"),
    (ModelSpec, "hyperspherical.hypersphere_classifier", {"weight_mode": "clip"}, "weight_mode: must be one of"),
    (LossSpec, "hyperspherical.triplet", {"margin": -0.2}, "margin: must be > 0"),
    (LossSpec, "hyperspherical.triplet", {"mining": "hard"}, "mining: must be one of"),
    (SamplerSpec, "hyperspherical.episodes", {"ways": 1}, "ways: must be > 1"),
    (MetricSpec, "hyperspherical.disjoint_acc", {"shots": 0}, "shots: must be > 0"),
    (MetricSpec, "hyperspherical.joint_acc", {"distance": "manhattan"}, "distance: must be one of"),
])
def test_out_of_range_values_name_the_field(spec, name, fields, message):
    with pytest.raises(ConfigError, match=message):
        spec.of(name, **fields)


def test_integer_radius_is_accepted_as_float():
    """The official default s = 10 is an int (a TF dtype error there); here it becomes 10.0."""
    spec = ModelSpec.of("hyperspherical.hypersphere_classifier", scale=10)
    assert spec.config.scale == 10.0 and isinstance(spec.config.scale, float)
