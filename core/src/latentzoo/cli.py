"""The ``latentzoo`` command.

Exit status: 0 success; 2 a user error (config, usage, missing data or artifact), reported on
stderr without a traceback (``--debug`` shows it); 1 an internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from latentzoo.errors import UserError

EPILOG = "Docs: the repository README. Exit status 0 ok, 2 user error, 1 internal error."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="latentzoo", description=__doc__.splitlines()[0],
                                     epilog=EPILOG)
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    p = commands.add_parser("list", help="list registered components")
    p.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern, e.g. 'builtin.*'")
    p.add_argument("--kind", choices=("data", "model", "loss", "sampler", "metric", "stage"))
    p.add_argument("--json", action="store_true", help="print JSON")

    p = commands.add_parser("plugins", help="loaded plugins, and those that failed to load")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = commands.add_parser("show", help="a component's config fields, defaults and docs")
    p.add_argument("name", help="component name, e.g. builtin.mlp")
    p.add_argument("--kind", choices=("data", "model", "loss", "sampler", "metric", "stage"))

    p = commands.add_parser("config", help="print the fully resolved config")
    p.add_argument("file")
    p.add_argument("overrides", nargs="*", help="path=value, e.g. stages[0].steps=100")

    p = commands.add_parser("run", help="run an experiment (or a sweep), or --resume one")
    p.add_argument("file", nargs="?")
    p.add_argument("overrides", nargs="*", help="path=value, e.g. stages[0].steps=100")
    p.add_argument("--run-dir", help="the new run directory (default: runs_dir/name-timestamp)")
    p.add_argument("--resume", metavar="DIR", help="continue the run (or sweep) in DIR")
    p.add_argument("--quick", action="store_true", help="a sweep's smoke version")
    p.add_argument("--arm", action="append", default=[], help="run only this arm of a sweep (repeatable)")
    p.add_argument("--cpu", action="store_true", help="use the CPU even if a GPU is present")

    p = commands.add_parser("report", help="aggregate a sweep directory into a table and figure")
    p.add_argument("dir")

    p = commands.add_parser("repro", help="run a plugin's reproduction sweeps and report them")
    p.add_argument("plugin")
    p.add_argument("--quick", action="store_true", help="the smoke version (seconds)")
    p.add_argument("--run-dir", help="parent directory of the sweeps")
    p.add_argument("--cpu", action="store_true", help="use the CPU even if a GPU is present")

    p = commands.add_parser("new-plugin", help="write a new plugin package from the template")
    p.add_argument("name", help="plugin slug, e.g. my_method")
    p.add_argument("--path", default=".", help="directory to create the package in")
    return parser


def _echo(text: str = "") -> None:
    print(text, flush=True)


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


def cmd_list(args) -> int:
    from latentzoo.plugins import get_registry

    registry = get_registry()
    entries = registry.entries(args.pattern, args.kind)
    if args.json:
        _echo(json.dumps([e.as_dict() for e in entries], indent=2))
        return 0
    if not entries:
        _echo(f"no component matches '{args.pattern}'" + (f" of kind {args.kind}" if args.kind else ""))
        return 0
    width = max(len(e.name) for e in entries)
    for entry in entries:
        _echo(f"{entry.kind:8} {entry.name:{width}}  {entry.distribution} {entry.version}  {entry.doc}")
    if registry.failed_plugins:
        _echo(f"\n{len(registry.failed_plugins)} plugin(s) failed to load: "
              + ", ".join(sorted(registry.failed_plugins)) + " (see: latentzoo plugins)")
    return 0


def cmd_plugins(args) -> int:
    from latentzoo.plugins import get_registry

    registry = get_registry()
    counts: dict[str, int] = {}
    for entry in registry.entries():
        counts[entry.plugin] = counts.get(entry.plugin, 0) + 1
    loaded = [{"name": name, "distribution": dist, "version": version, "components": counts.get(name, 0)}
              for name, (dist, version) in sorted(registry.plugins.items())]
    failed = [{"name": name, "error": error} for name, error in sorted(registry.failed_plugins.items())]
    if args.json:
        _echo(json.dumps({"loaded": loaded, "failed": failed}, indent=2))
        return 0
    for plugin in loaded:
        _echo(f"ok      {plugin['name']:20} {plugin['distribution']} {plugin['version']} "
              f"({plugin['components']} components)")
    for plugin in failed:
        _echo(f"FAILED  {plugin['name']:20} {plugin['error']}")
    return 0


def cmd_show(args) -> int:
    from latentzoo.config import config_fields
    from latentzoo.errors import UnknownComponentError
    from latentzoo.plugins import get_registry
    from latentzoo.registry import KINDS

    registry = get_registry()
    kinds = [args.kind] if args.kind else list(KINDS)
    found = []
    errors = []
    for kind in kinds:
        try:
            found.append(registry.get(kind, args.name))
        except UnknownComponentError as error:
            errors.append(error)
    if not found:
        ambiguous = [e for e in errors if "ambiguous" in str(e)]
        if args.kind or ambiguous:
            raise (ambiguous or errors)[0]
        from latentzoo.errors import did_you_mean

        names = sorted({e.name for e in registry.entries()})
        raise UnknownComponentError(f"unknown component '{args.name}'{did_you_mean(args.name, names)}; "
                                    "see: latentzoo list")
    for entry in found:
        _echo(f"{entry.name}  ({entry.kind}, {entry.distribution} {entry.version})")
        if entry.doc:
            _echo(f"  {entry.doc}")
        _echo(f"  target: {entry.target}\n  config: {entry.config}")
        rows = config_fields(entry.load_config())
        if rows:
            _echo("  fields:")
            for row in rows:
                _echo(f"    {row['name']} = {row['default']}  ({row['type']})  {row['doc']}")
        else:
            _echo("  no config fields")
    return 0


def cmd_config(args) -> int:
    from latentzoo.config import to_toml
    from latentzoo.experiment import load_experiment

    experiment, _ = load_experiment(args.file, args.overrides)
    sys.stdout.write(to_toml(experiment))
    return 0


def cmd_run(args) -> int:
    from latentzoo.runner import start

    if args.resume and args.file is None and args.overrides:
        raise UserError("overrides need a config file; to resume, use --resume DIR alone")
    started = time.time()
    run_dir = start(args.file, args.overrides, run_dir=args.run_dir, resume=args.resume,
                    quick=args.quick, cpu=args.cpu, echo=_echo, arms=tuple(args.arm))
    _finish(run_dir, started)
    return 0


def _finish(run_dir: Path, started: float) -> None:
    from accelerate.state import PartialState

    if not PartialState().is_main_process:
        return
    from latentzoo.runs import read_metrics

    _echo(f"\ndone in {time.time() - started:.0f} s")
    report = run_dir / "report.md"
    if report.exists():
        _echo(report.read_text())
        _echo(f"report:      {report}")
    else:
        for stage, values in read_metrics(run_dir).items():
            shown = ", ".join(f"{k} = {v:.4g}" for k, v in values.items())
            _echo(f"  {stage}: {shown or '(no metrics)'}")
    _echo(f"results:     {run_dir}")
    _echo(f"tensorboard: tensorboard --logdir {run_dir}")


def cmd_report(args) -> int:
    from latentzoo.report import to_markdown, write_report

    report = write_report(args.dir)
    _echo(to_markdown(report))
    _echo(f"written: {Path(args.dir) / 'report.md'}, report.json"
          + (", report.png" if (Path(args.dir) / "report.png").exists() else ""))
    return 0


def repro_configs(plugin: str) -> list[Path]:
    """The reproduction configs a plugin ships: ``<package>/configs/repro/*.toml``."""
    import importlib.resources
    from importlib import metadata

    from latentzoo.plugins import get_registry

    registry = get_registry()
    if plugin not in registry.plugins:
        hint = (f"; it failed to load: {registry.failed_plugins[plugin]}" if plugin in registry.failed_plugins
                else f"; install it with: pip install latentzoo-{plugin.replace('_', '-')}")
        raise UserError(f"no plugin named '{plugin}' is loaded{hint}")
    module = next(ep.value for ep in metadata.entry_points(group="latentzoo") if ep.name == plugin)
    package = module.split(":")[0].split(".")[0]
    folder = Path(str(importlib.resources.files(package))) / "configs" / "repro"
    configs = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    if not configs:
        raise UserError(f"plugin '{plugin}' declares no reproduction: {folder} has no *.toml")
    return configs


def cmd_repro(args) -> int:
    from latentzoo.experiment import load_experiment
    from latentzoo.report import to_markdown
    from latentzoo.runner import _broadcast, _partial_state, run_sweep
    from latentzoo.runs import atomic_write_text, new_run_dir

    configs = repro_configs(args.plugin)
    state = _partial_state(args.cpu)
    suffix = "-quick" if args.quick else ""
    parent = Path(args.run_dir) if args.run_dir else _broadcast(
        new_run_dir(Path(os.environ.get("LATENTZOO_RUNS_DIR", "runs")), f"repro-{args.plugin}{suffix}"))
    started = time.time()
    sections = [f"# Reproduction: {args.plugin}" + (" (quick)" if args.quick else ""), ""]
    for config in configs:
        experiment, raw = load_experiment(config)
        if experiment.sweep is None:
            raise UserError(f"{config}: a reproduction config needs a [sweep] table (arms, seeds, claims)")
        if state.is_main_process:
            _echo(f"== {config.name}")
        run_sweep(experiment, raw, parent / config.stem, quick=args.quick, cpu=args.cpu, echo=_echo,
                  reuse_from=parent)  # a stage shared by two of the plugin's sweeps runs once
        report = (json.loads((parent / config.stem / "report.json").read_text())
                  if state.is_main_process else None)
        if report is not None:
            command = f"latentzoo repro {args.plugin}" + (" --quick" if args.quick else "")
            sections += [to_markdown(report), f"Config: `{config.name}`; command: `{command}`.", ""]
    if state.is_main_process:
        text = "\n".join(sections)
        atomic_write_text(parent / "REPRO.md", text)
        _echo(text)
        _echo(f"done in {time.time() - started:.0f} s; written: {parent / 'REPRO.md'}")
    return 0


def cmd_new_plugin(args) -> int:
    from latentzoo.scaffold import new_plugin

    path = new_plugin(args.name, Path(args.path))
    _echo(f"wrote {path}\nnext: pip install -e {path} && pytest {path}/tests")
    return 0


COMMANDS = {"list": cmd_list, "plugins": cmd_plugins, "show": cmd_show, "config": cmd_config,
            "run": cmd_run, "report": cmd_report, "repro": cmd_repro, "new-plugin": cmd_new_plugin}


def _exit_distributed(code: int) -> None:
    """In a launched multi-process job, end this process without interpreter teardown.

    Objects still holding the gloo process group (a DDP module, the Accelerator) are otherwise
    destroyed at interpreter exit while gloo's C++ threads run, which intermittently aborts a
    rank after all its work is done ("terminate called without an active exception").
    """
    if "torch.distributed" not in sys.modules:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    # overrides may also follow options: `run exp.toml --run-dir d a.b=1`
    if extra and hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    debug = args.debug or bool(os.environ.get("LATENTZOO_DEBUG"))
    try:
        code = COMMANDS[args.command](args)
        _exit_distributed(code)
        return code
    except UserError as error:
        if debug:
            raise
        print(f"latentzoo {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `latentzoo list | head`: the reader went away
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
