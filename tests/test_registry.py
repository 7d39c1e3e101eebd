"""Registry: lazy entries, namespacing, collisions, lookups with suggestions, listing."""

import json
import subprocess
import sys

import pytest
from latentzoo.errors import UnknownComponentError
from latentzoo.registry import RegistrationError, Registry


def make_registry():
    registry = Registry()
    registry.plugins = {"alpha": ("latentzoo-alpha", "1.0"), "beta": ("latentzoo-beta", "2.0")}
    registry.registrar("loss", "alpha", "latentzoo-alpha", "1.0")("hinge", "alpha.l:Hinge", config="alpha.l:C")
    registry.registrar("loss", "beta", "latentzoo-beta", "2.0")("hinge", "beta.l:Hinge", config="beta.l:C")
    registry.registrar("loss", "beta", "latentzoo-beta", "2.0")("focal", "beta.l:Focal", config="beta.l:C")
    return registry


def test_names_are_namespaced_and_short_names_resolve_when_unique():
    registry = make_registry()
    assert registry.get("loss", "beta.focal").target == "beta.l:Focal"
    assert registry.get("loss", "focal").name == "beta.focal"
    with pytest.raises(UnknownComponentError, match="ambiguous: it could be alpha.hinge, beta.hinge"):
        registry.get("loss", "hinge")


def test_same_target_twice_is_a_no_op_and_a_different_target_an_error():
    registry = make_registry()
    register = registry.registrar("loss", "alpha", "latentzoo-alpha", "1.0")
    register("hinge", "alpha.l:Hinge", config="alpha.l:C")
    with pytest.raises(RegistrationError) as info:
        registry.registrar("loss", "alpha", "latentzoo-alpha-fork", "0.3")("hinge", "fork.l:Hinge", config="fork.l:C")
    message = str(info.value)
    assert "latentzoo-alpha 1.0" in message and "latentzoo-alpha-fork 0.3" in message


def test_unknown_names_suggest_and_point_to_the_package():
    registry = make_registry()
    with pytest.raises(UnknownComponentError, match=r"did you mean 'beta.focal'"):
        registry.get("loss", "beta.focl")
    with pytest.raises(UnknownComponentError, match=r"pip install latentzoo-gamma-ray"):
        registry.get("loss", "gamma_ray.thing")
    with pytest.raises(UnknownComponentError, match="is a loss, not a model"):
        registry.get("model", "beta.focal")


def test_entries_must_be_lazy_strings():
    registry = Registry()
    with pytest.raises(RegistrationError, match="module:Object"):
        registry.registrar("loss", "a", "d", "1")("x", object, config="a:C")


def test_listing_filters_and_sorts_naturally():
    registry = Registry()
    register = registry.registrar("model", "p", "d", "1")
    for name in ("net10", "net2", "net1"):
        register(name, f"p.m:{name}", config="p.m:C")
    assert [e.name for e in registry.entries("p.net*")] == ["p.net1", "p.net2", "p.net10"]
    assert registry.entries("*", kind="loss") == []


def test_list_json_without_importing_torch():
    code = ("import sys, io, contextlib, json\n"
            "from latentzoo.cli import main\n"
            "buf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf): main(['list', 'builtin.*', '--kind', 'loss', '--json'])\n"
            "print(json.dumps({'torch': 'torch' in sys.modules, 'out': json.loads(buf.getvalue())}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["torch"] is False
    rows = result["out"]
    assert {r["name"] for r in rows} == {"builtin.cross_entropy", "builtin.mse"}
    for key in ("name", "kind", "plugin", "distribution", "version", "target"):
        assert key in rows[0]
    assert rows[0]["distribution"] == "latentzoo" and rows[0]["kind"] == "loss"
