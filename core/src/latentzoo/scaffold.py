"""``latentzoo new-plugin NAME``: write a plugin package that installs and passes its tests."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from latentzoo import __version__
from latentzoo.errors import UserError

FILES = {
    "pyproject.toml": '''
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "latentzoo-{dist}"
        version = "0.1.0"
        description = "latentzoo plugin: {name}"
        readme = "README.md"
        requires-python = ">=3.11"
        dependencies = ["latentzoo>={major_minor},<{next_minor}"]

        [project.entry-points.latentzoo]
        {name} = "latentzoo_{name}.plugin"

        [tool.setuptools.packages.find]
        where = ["src"]

        [tool.setuptools.package-data]
        latentzoo_{name} = ["configs/**/*.toml"]
        ''',
    "README.md": '''
        # latentzoo-{dist}

        What the paper does, in a paragraph, and which part of it this plugin implements.

        ## Components

        | name | what | paper |
        |---|---|---|
        | `{name}.scaled_cross_entropy` | cross-entropy of logits / T | (replace with the paper's components) |

        ## Run

        ```bash
        pip install -e .
        latentzoo list '{name}.*'
        latentzoo repro {name} --quick    # smoke version, seconds
        latentzoo repro {name}            # the reproduction
        ```

        ## Reproduction

        Paste the table `latentzoo repro {name}` writes (REPRO.md), with the command and the date.
        ''',
    "src/latentzoo_{name}/__init__.py": '''
        """latentzoo plugin {name}."""
        ''',
    "src/latentzoo_{name}/plugin.py": '''
        """Registrations of the {name} plugin: names and lazy targets only, no heavy imports."""

        from latentzoo import hookimpl

        EXAMPLE = {{"stages": [{{"kind": "train", "data": "builtin.digits",
                                "model": {{"name": "builtin.mlp", "hidden": [16]}},
                                "loss": {{"name": "{name}.scaled_cross_entropy", "temperature": 2.0}},
                                "metrics": [{{"name": "builtin.accuracy"}}], "steps": 3}}]}}


        @hookimpl
        def latentzoo_register_losses(register):
            register("scaled_cross_entropy", "latentzoo_{name}.losses:ScaledCrossEntropy",
                     config="latentzoo_{name}.losses:ScaledCrossEntropyConfig",
                     doc="cross-entropy of model(x) / T against y", example=EXAMPLE)
        ''',
    "src/latentzoo_{name}/losses.py": '''
        """An example loss: cross-entropy of temperature-scaled logits, CE(z / T, y)."""

        from __future__ import annotations

        import attrs
        import torch
        import torch.nn.functional as F
        from torch import nn

        from latentzoo import option


        @attrs.frozen
        class ScaledCrossEntropyConfig:
            temperature: float = option(1.0, "logits are divided by T", gt=0)


        class ScaledCrossEntropy(nn.Module):
            def __init__(self, config: ScaledCrossEntropyConfig, ctx=None):
                super().__init__()
                self.temperature = config.temperature

            def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
                return F.cross_entropy(model(batch["x"]) / self.temperature, batch["y"])
        ''',
    "src/latentzoo_{name}/configs/repro/temperature.toml": '''
        # Reproduction sweep: arms at equal compute, 3 seeds, claims checked by the report.
        name = "{name}-temperature"

        [[stages]]
        kind = "train"
        name = "classifier"
        data = {{ name = "builtin.digits" }}
        model = {{ name = "builtin.mlp", hidden = [64] }}
        loss = {{ name = "{name}.scaled_cross_entropy", temperature = 1.0 }}
        metrics = [{{ name = "builtin.accuracy" }}]
        steps = 200
        batch_size = 64

        [sweep]
        seeds = [0, 1, 2]
        quick_seeds = [0]
        quick_overrides = ["stages[0].steps=3"]

        [sweep.arms]
        t1 = []
        t4 = ["stages[0].loss.temperature=4.0"]

        [[sweep.claims]]
        text = "T = 1 is at least as accurate as T = 4 minus 5 points"
        lhs = "t1:classifier.accuracy"
        op = ">="
        rhs = "t4:classifier.accuracy"
        offset = -0.05
        ''',
    "tests/test_conformance.py": '''
        from latentzoo.testing import PluginConformance


        class TestConformance(PluginConformance):
            plugin = "{name}"
        ''',
    "tests/test_losses.py": '''
        import math

        import torch

        from latentzoo_{name}.losses import ScaledCrossEntropy, ScaledCrossEntropyConfig


        class Fixed(torch.nn.Module):
            def forward(self, x):
                return x


        def test_value_by_hand():
            # logits [2, 0], label 0, T = 2: -log(e^1 / (e^1 + e^0)) = log(1 + e^-1)
            loss = ScaledCrossEntropy(ScaledCrossEntropyConfig(temperature=2.0))
            value = loss(Fixed(), {{"x": torch.tensor([[2.0, 0.0]]), "y": torch.tensor([0])}})
            assert abs(value.item() - math.log(1 + math.exp(-1))) < 1e-6
        ''',
}


def new_plugin(name: str, path: Path) -> Path:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise UserError(f"plugin name {name!r}: use lower-case letters, digits and underscores "
                        "(it becomes the entry point, the import package latentzoo_<name> and the "
                        "prefix of component names)")
    target = Path(path) / name
    if target.exists() and any(target.iterdir()):
        raise UserError(f"{target} already exists and is not empty")
    major, minor = (int(p) for p in __version__.split(".")[:2])
    values = {"name": name, "dist": name.replace("_", "-"), "major_minor": f"{major}.{minor}",
              "next_minor": f"{major}.{minor + 1}"}
    for relative, template in FILES.items():
        file = target / relative.format(**values)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(textwrap.dedent(template).lstrip("\n").format(**values))
    return target
