"""Plugin loading with real installed test plugins (dist-info folders on sys.path)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

PLUGINS = {
    "goodplug": """
        from latentzoo import hookimpl

        @hookimpl
        def latentzoo_register_losses(register):
            register("hinge", "goodplug_mod.losses:Hinge", config="goodplug_mod.losses:HingeConfig",
                     doc="a good loss")
        """,
    "importfail": "raise ImportError('libfoo.so: cannot open shared object file')\n",
    "badsig": """
        from latentzoo import hookimpl

        @hookimpl
        def latentzoo_register_losses(registr):
            pass
        """,
    "misspelt": """
        from latentzoo import hookimpl

        @hookimpl
        def latentzoo_register_loses(register):
            pass
        """,
    "raises": """
        from latentzoo import hookimpl

        @hookimpl
        def latentzoo_register_models(register):
            register("ok_model", "raises_mod:M", config="raises_mod:C")
            raise RuntimeError("boom in registration")
        """,
    "escape": """
        from latentzoo import hookimpl

        @hookimpl
        def latentzoo_register_losses(register):
            register("builtin.cross_entropy", "escape_mod:X", config="escape_mod:C")
        """,
    "eager": """
        from latentzoo import hookimpl

        @hookimpl
        def latentzoo_register_losses(register):
            register("obj", object, config="eager_mod:C")
        """,
}


def _dist(root, dist_name, entry_name, module):
    info = root / f"{dist_name.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[latentzoo]\n{entry_name} = {module}\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    for name, code in PLUGINS.items():
        (root / f"{name}_mod.py").write_text(textwrap.dedent(code))
        _dist(root, f"latentzoo-{name}", name, f"{name}_mod")
    (root / "goodplug_mod").mkdir()
    # a second distribution claiming the same plugin name with another module
    (root / "twin_a.py").write_text("")
    (root / "twin_b.py").write_text("")
    _dist(root, "latentzoo-twin-a", "twin", "twin_a")
    _dist(root, "latentzoo-twin-b", "twin", "twin_b")
    (root / "goodplug_mod.py").rename(root / "goodplug_mod" / "__init__.py")
    (root / "goodplug_mod" / "losses.py").write_text(textwrap.dedent("""
        import attrs
        import torch

        @attrs.frozen
        class HingeConfig:
            margin: float = 1.0

        class Hinge(torch.nn.Module):
            def __init__(self, config, ctx):
                super().__init__()
        """))
    return root


def cli(site, *args, strict=False):
    env = dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    env.pop("LATENTZOO_STRICT_PLUGINS", None)
    if strict:
        env["LATENTZOO_STRICT_PLUGINS"] = "1"
    return subprocess.run([sys.executable, "-m", "latentzoo.cli", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_broken_plugins_are_reported_and_skipped(site):
    out = cli(site, "plugins", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    loaded = {p["name"] for p in report["loaded"]}
    failed = {p["name"]: p["error"] for p in report["failed"]}
    assert {"builtin", "goodplug"} <= loaded
    assert "ImportError" in failed["importfail"] and "libfoo.so" in failed["importfail"]
    assert "registr" in failed["badsig"]
    assert "unknown hook 'latentzoo_register_loses'" in failed["misspelt"]
    assert "boom in registration" in failed["raises"]
    assert "without dots" in failed["escape"]
    assert "module:Object" in failed["eager"]


def test_failed_registration_leaves_nothing_behind(site):
    out = cli(site, "list", "--json")
    names = {e["name"] for e in json.loads(out.stdout)}
    assert "raises.ok_model" not in names  # registered before the hook raised: rolled back
    assert "goodplug.hinge" in names and "builtin.mlp" in names


def test_collision_names_both_distributions(site):
    out = cli(site, "plugins", "--json")
    failed = {p["name"]: p["error"] for p in json.loads(out.stdout)["failed"]}
    assert "latentzoo-twin-a (twin_a)" in failed["twin"] and "latentzoo-twin-b (twin_b)" in failed["twin"]


def test_every_command_still_works(site):
    out = cli(site, "list", "goodplug.*")
    assert out.returncode == 0 and "goodplug.hinge" in out.stdout and "latentzoo-goodplug 0.1" in out.stdout
    assert "failed to load" in out.stdout
    out = cli(site, "show", "goodplug.hinge")
    assert out.returncode == 0 and "margin = 1.0" in out.stdout


def test_unknown_name_mentions_failed_plugin(site, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(textwrap.dedent("""
        [[stages]]
        kind = "train"
        data = "builtin.digits"
        model = "raises.ok_model"
        loss = "builtin.cross_entropy"
        """))
    out = cli(site, "config", str(config))
    assert out.returncode == 2
    assert "plugin 'raises' is installed but failed to load" in out.stderr
    assert "Traceback" not in out.stderr


def test_strict_mode_turns_failures_into_errors(site):
    out = cli(site, "list", strict=True)
    assert out.returncode == 2
    assert "LATENTZOO_STRICT_PLUGINS" in out.stderr and "importfail" in out.stderr
    assert "Traceback" not in out.stderr


def test_disable_and_allow_lists(site):
    env_out = subprocess.run(
        [sys.executable, "-m", "latentzoo.cli", "plugins", "--json"], capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=str(site), LATENTZOO_PLUGINS="goodplug",
                 LATENTZOO_STRICT_PLUGINS="1"))
    report = json.loads(env_out.stdout)
    assert {p["name"] for p in report["loaded"]} == {"builtin", "goodplug"}
    assert report["failed"] == [] or all(p["name"] == "goodplug" for p in report["failed"])
