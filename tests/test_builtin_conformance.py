"""The builtin plugin passes the same test kit every plugin runs."""

from latentzoo.testing import PluginConformance


class TestBuiltin(PluginConformance):
    plugin = "builtin"

    def test_repro_quick(self, tmp_path):  # the builtin plugin is not a paper: no reproduction
        pass
