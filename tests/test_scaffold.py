"""`latentzoo new-plugin` writes a package that installs and passes its own tests unchanged."""

import os
import subprocess
import sys

import pytest
from latentzoo.cli import main


def test_new_plugin_installs_and_passes_its_tests(tmp_path):
    assert main(["new-plugin", "demo_method", "--path", str(tmp_path)]) == 0
    package = tmp_path / "demo_method"
    for name in ("pyproject.toml", "README.md", "src/latentzoo_demo_method/plugin.py",
                 "src/latentzoo_demo_method/configs/repro/temperature.toml", "tests/test_conformance.py"):
        assert (package / name).exists(), name
    assert "## Reproduction" in (package / "README.md").read_text()
    # Install into this environment for the duration of the test (a venv would not see torch).
    pip = [sys.executable, "-m", "pip"]
    install = subprocess.run([*pip, "install", "-q", "--no-deps", str(package)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    try:
        env = dict(os.environ, LATENTZOO_STRICT_PLUGINS="1", OMP_NUM_THREADS="1")
        out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
                             capture_output=True, text=True, env=env, cwd=package, timeout=900)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    finally:
        subprocess.run([*pip, "uninstall", "-y", "-q", "latentzoo-demo-method"], capture_output=True)


def test_bad_names_and_existing_folders_are_refused(tmp_path, capsys):
    assert main(["new-plugin", "Bad-Name", "--path", str(tmp_path)]) == 2
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("")
    assert main(["new-plugin", "taken", "--path", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["list", "--kind", "nope"], ["run"], ["frobnicate"]])
def test_usage_errors_exit_2(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
