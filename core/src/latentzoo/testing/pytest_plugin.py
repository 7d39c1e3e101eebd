"""pytest entry point (``pytest11``) of the latentzoo test kit.

Parametrises the ``entry`` argument of :class:`latentzoo.testing.PluginConformance` tests with
every component the class's ``plugin`` registers, and declares the ``slow`` marker
(reproductions; skipped unless ``--run-slow`` or ``-m slow``).
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("latentzoo")
    group.addoption("--run-slow", action="store_true", default=False,
                    help="run tests marked slow (full reproductions)")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running (reproductions); skipped unless --run-slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow") or "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_generate_tests(metafunc):
    if "entry" not in metafunc.fixturenames or metafunc.cls is None:
        return
    plugin = getattr(metafunc.cls, "plugin", "")
    if not plugin:
        return
    from latentzoo.testing import plugin_entries

    entries = plugin_entries(plugin)
    metafunc.parametrize("entry", entries, ids=[f"{e.kind}:{e.name}" for e in entries])


@pytest.fixture
def evaluator_for():
    """``evaluator_for(model, splits, num_classes, split="test")``: an Evaluator for metric tests."""
    from latentzoo.testing import make_evaluator

    return make_evaluator
