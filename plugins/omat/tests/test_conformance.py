from latentzoo.testing import PluginConformance


class TestConformance(PluginConformance):
    plugin = "omat"
