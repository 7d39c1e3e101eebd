"""The latentzoo test kit over every registered component of the plugin."""

import pytest

try:
    from latentzoo.testing import PluginConformance
except ImportError:  # the kit is not in this latentzoo yet
    pytest.skip("latentzoo.testing.PluginConformance is not available", allow_module_level=True)


class TestConformance(PluginConformance):
    plugin = "dual_head_kd"
