"""The builtin plugin passes the same test kit every plugin runs."""

import pytest

from latentzoo.testing import PluginConformance


class TestBuiltin(PluginConformance):
    plugin = "builtin"

    def test_repro_quick(self, tmp_path):
        pytest.skip("the builtin plugin is not a paper: it declares no reproduction")
