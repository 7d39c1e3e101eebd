"""Install latentzoo's distributions in dependency order (editable).

    python .ci/install_all.py                      # every contrib package and plugin
    python .ci/install_all.py --only plugins/sclt  # one, with the repository packages it declares

A plugin that depends on another distribution of this repository (e.g. latentzoo-ssl) gets it
installed from the repository first, so nothing is fetched from an index that is not there yet.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def local_distributions() -> dict[str, Path]:
    found = {}
    for folder in sorted([*ROOT.glob("contrib/*"), *ROOT.glob("plugins/*")]):
        pyproject = folder / "pyproject.toml"
        if pyproject.exists():
            found[tomllib.loads(pyproject.read_text())["project"]["name"]] = folder
    return found


def requirements(folder: Path) -> list[str]:
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    return [re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0] for req in project.get("dependencies", [])]


def order(targets: list[Path], local: dict[str, Path]) -> list[Path]:
    ordered: list[Path] = []

    def visit(folder: Path) -> None:
        for name in requirements(folder):
            if name in local and local[name] not in ordered:
                visit(local[name])
        if folder not in ordered:
            ordered.append(folder)

    for target in targets:
        visit(target)
    return ordered


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="one folder, e.g. plugins/sclt")
    args = parser.parse_args()
    local = local_distributions()
    targets = [ROOT / args.only] if args.only else list(local.values())
    folders = order(targets, local)
    command = [sys.executable, "-m", "pip", "install", "-q"]
    for folder in folders:
        command += ["-e", str(folder)]
    print("installing:", ", ".join(str(f.relative_to(ROOT)) for f in folders), flush=True)
    subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
