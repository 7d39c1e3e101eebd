import pytest
from latentzoo.testing import PluginConformance


class TestConformance(PluginConformance):
    plugin = "relreps"

    def test_builds(self, entry, tmp_path):
        if entry.name == "relreps.vision_anchored":
            # real-scale data: needs torchvision and a local download, absent on the CI machine;
            # tests/test_data.py builds it with a stand-in torchvision instead
            pytest.skip("relreps.vision_anchored needs a local torchvision download")
        super().test_builds(entry, tmp_path)
