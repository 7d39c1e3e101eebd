"""The latentzoo test kit over every component of the plugin."""

from latentzoo.testing import PluginConformance


class TestConformance(PluginConformance):
    plugin = "susana"
