"""Bad configs exit with status 2 and a message naming the file, the path, expected and found."""

import textwrap

import pytest
from latentzoo.cli import main

GOOD = """
name = "t"
[[stages]]
kind = "train"
name = "encoder"
data = { name = "builtin.digits" }
model = { name = "builtin.mlp", hidden = [16] }
loss = { name = "builtin.cross_entropy" }
steps = 5
"""


def run_config(tmp_path, capsys, text, *overrides, name="exp.toml", files=None):
    for file_name, content in (files or {}).items():
        (tmp_path / file_name).write_text(textwrap.dedent(content))
    path = tmp_path / name
    if text is not None:
        path.write_text(textwrap.dedent(text))
    code = main(["config", str(path), *overrides])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


CASES = {
    "toml syntax error": (GOOD + "\nsteps = = 3\n", [], ["TOML syntax error", "line"]),
    "unknown key": (GOOD.replace("steps = 5", "stepz = 5"), [],
                    ["stages[0].stepz: unknown key", "did you mean 'steps'"]),
    "wrong type": (GOOD.replace("steps = 5", 'steps = "five"'), [],
                   ["stages[0].steps", "expected integer", "found string 'five'"]),
    "out of range": (GOOD.replace("steps = 5", "steps = -1"), [], ["stages[0].steps", "must be > 0"]),
    "unknown component": (GOOD.replace("builtin.cross_entropy", "nosuchplugin.loss"), [],
                          ["stages[0].loss", "unknown loss 'nosuchplugin.loss'",
                           "pip install latentzoo-nosuchplugin"]),
    "misspelt component": (GOOD.replace("builtin.cross_entropy", "builtin.cross_entopy"), [],
                           ["stages[0].loss", "did you mean 'builtin.cross_entropy'"]),
    "unknown key in a component": (GOOD.replace("hidden = [16]", "hiden = [16]"), [],
                                   ["stages[0].model.hiden: unknown key", "did you mean 'hidden'"]),
    "missing include": ('include = ["nope.toml"]\n' + GOOD, [], ["config file not found", "nope.toml",
                                                                "included from"]),
    "malformed override": (GOOD, ["stages[0].steps"], ["malformed override 'stages[0].steps'",
                                                      "expected 'path=value'"]),
    "override of an unknown path": (GOOD, ["stages[0].lss.name=x"],
                                    ["stages[0].lss: unknown key", "did you mean 'loss'",
                                     "override 'stages[0].lss.name=x'"]),
    "override index out of range": (GOOD, ["stages[3].steps=1"], ["stages[3]", "index 3 does not exist"]),
    "artifact from no earlier stage": (GOOD + """
        [[stages]]
        kind = "evaluate"
        name = "probe"
        model = "encodr"
        data = { name = "builtin.digits" }
        """, [], ["stages[1].model", "artifact 'encodr' is not produced by an earlier stage",
                  "did you mean 'encoder'"]),
    "empty file": ("   \n", [], ["the file is empty"]),
    "no stages": ('name = "x"\n', [], ["no [[stages]]"]),
    "unknown stage kind": (GOOD.replace('kind = "train"', 'kind = "trian"'), [],
                           ["stages[0]", "unknown stage 'trian'", "did you mean"]),
    "missing required component": (GOOD.replace('loss = { name = "builtin.cross_entropy" }', ""), [],
                                   ["stages[0].loss: missing required key"]),
    "choice not allowed": (GOOD + 'lr_schedule = "cosin"\n', [],
                           ["stages[0].lr_schedule", "must be one of", "did you mean 'cosine'"]),
    "duplicate stage name": (GOOD + GOOD.split('name = "t"')[1], [], ["stage name 'encoder' is used twice"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_config(case, tmp_path, capsys):
    text, overrides, expected = CASES[case]
    code, out, err = run_config(tmp_path, capsys, text, *overrides)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert str(tmp_path / "exp.toml") in err or "override" in err
    for fragment in expected:
        assert fragment in err, f"{fragment!r} not in:\n{err}"


def test_nonexistent_file(tmp_path, capsys):
    code = main(["config", str(tmp_path / "missing.toml")])
    err = capsys.readouterr().err
    assert code == 2 and "config file not found" in err and "missing.toml" in err


def test_include_cycle(tmp_path, capsys):
    files = {"a.toml": 'include = ["b.toml"]\n', "b.toml": 'include = ["a.toml"]\n'}
    code, _, err = run_config(tmp_path, capsys, None, name="a.toml", files=files)
    assert code == 2 and "include cycle" in err and "a.toml -> " in err


def test_debug_shows_traceback(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text("x = = 1")
    with pytest.raises(Exception, match="TOML syntax error"):
        main(["--debug", "config", str(path)])


def test_internal_error_is_exit_1(tmp_path):
    """An unexpected exception is not dressed up as a user error: Python exits with 1."""
    import subprocess
    import sys

    code = "import latentzoo.cli as c; c.cmd_list = None; c.COMMANDS['list'] = lambda a: 1 / 0; c.main(['list'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 1 and "ZeroDivisionError" in out.stderr
