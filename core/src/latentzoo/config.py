"""Configs: TOML files composed with ``include``, command-line overrides, and one cattrs converter.

Reading a config goes through three steps, each with errors that name the file and the path:

1. :func:`load_toml` reads a file and its ``include = [...]`` list (paths relative to the
   including file), deep-merging the included tables under the file's own.
2. :func:`apply_overrides` applies ``a.b[1].c=value`` strings, values parsed as TOML (a value
   that is not valid TOML is taken as a string: ``model.name=builtin.mlp``).
3. :func:`structure` turns the dict into frozen attrs classes with strict types; unknown keys are
   rejected with suggestions, and each component's config class is found by looking its
   ``name`` up in the registry.

:func:`to_toml` writes a structured config back with every default filled in; reading that
output gives the same config again.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any, ClassVar

import attrs
import cattrs
import tomli_w
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)

from latentzoo.errors import ConfigError, UnknownComponentError, UserError, did_you_mean

# ---------------------------------------------------------------------------------------------
# Declaring config classes
# ---------------------------------------------------------------------------------------------


def option(
    default: Any = attrs.NOTHING,
    doc: str = "",
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    choices: tuple | None = None,
    factory: Any = None,
):
    """A config field with a default, a one-line doc and range checks.

    ``option(0.1, "temperature τ of Eq. 3", gt=0)``. Range errors name the field and the value.
    """
    validators = []
    bounds = (("gt", gt, lambda v, b: v > b, ">"), ("ge", ge, lambda v, b: v >= b, ">="),
              ("lt", lt, lambda v, b: v < b, "<"), ("le", le, lambda v, b: v <= b, "<="))
    for _, bound, check, symbol in bounds:
        if bound is not None:
            validators.append(_bound_validator(bound, check, symbol))
    if choices is not None:
        validators.append(_choice_validator(tuple(choices)))
    kwargs: dict[str, Any] = {"metadata": {"doc": doc}, "validator": validators or None,
                              "kw_only": True}
    if factory is not None:
        kwargs["factory"] = factory
    else:
        kwargs["default"] = default
    return attrs.field(**kwargs)


class FieldValueError(ValueError):
    """A value outside its field's range; ``field`` completes the config path."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _bound_validator(bound, check, symbol):
    def validate(instance, attribute, value):
        values = value if isinstance(value, (tuple, list)) else (value,)
        for item in values:
            if isinstance(item, (int, float)) and not check(item, bound):
                raise FieldValueError(attribute.name, f"must be {symbol} {bound}, found {item!r}")

    return validate


def _choice_validator(choices):
    def validate(instance, attribute, value):
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if item not in choices:
                raise FieldValueError(
                    attribute.name,
                    f"must be one of {', '.join(repr(c) for c in choices)}, found {item!r}"
                    + did_you_mean(str(item), [str(c) for c in choices]),
                )

    return validate


def config_fields(cls: type) -> list[dict[str, Any]]:
    """Name, type, default and doc of each field of a config class (for ``latentzoo show``)."""
    rows = []
    for field in attrs.fields(cls):
        if field.default is attrs.NOTHING:
            default = "(required)"
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            default = repr(field.default.factory())
        else:
            default = repr(field.default)
        type_name = field.type if isinstance(field.type, str) else getattr(
            field.type, "__name__", str(field.type))
        rows.append({"name": field.name, "type": str(type_name), "default": default,
                     "doc": field.metadata.get("doc", "")})
    return rows


# ---------------------------------------------------------------------------------------------
# Component specs: {name = "plugin.component", ...fields of its config class}
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class ComponentSpec:
    """A registered component and its structured config. Subclasses fix the kind."""

    kind: ClassVar[str] = ""
    key: ClassVar[str] = "name"
    name: str
    config: Any

    @classmethod
    def of(cls, name: str, **fields):
        """Build a spec in code: ``LossSpec.of("builtin.cross_entropy", label_smoothing=0.1)``."""
        return structure({cls.key: name, **fields}, cls)


class DataSpec(ComponentSpec):
    kind = "data"


class ModelSpec(ComponentSpec):
    kind = "model"


class LossSpec(ComponentSpec):
    kind = "loss"


class SamplerSpec(ComponentSpec):
    kind = "sampler"


class MetricSpec(ComponentSpec):
    kind = "metric"


class StageSpec(ComponentSpec):
    """A stage: ``kind`` names the registered stage procedure, the rest is its config."""

    kind = "stage"
    key = "kind"


class _ComponentNameError(ValueError):
    pass


# ---------------------------------------------------------------------------------------------
# The converter
# ---------------------------------------------------------------------------------------------


def _describe_value(value: Any) -> str:
    names = {str: "string", int: "integer", float: "float", bool: "boolean", list: "array",
             dict: "table"}
    kind = names.get(type(value), type(value).__name__)
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{kind} {text}"


def _strict(expected: type, accepted: tuple[type, ...], label: str):
    def hook(value, _type):
        if isinstance(value, bool) and bool not in accepted:
            raise TypeError(f"expected {label}, found {_describe_value(value)}")
        if not isinstance(value, accepted):
            raise TypeError(f"expected {label}, found {_describe_value(value)}")
        return expected(value)

    return hook


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_structure_hook(int, _strict(int, (int,), "integer"))
    conv.register_structure_hook(float, _strict(float, (int, float), "float"))
    conv.register_structure_hook(str, _strict(str, (str,), "string"))
    conv.register_structure_hook(bool, _strict(bool, (bool,), "boolean"))

    def number_or_string(value, _type):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise TypeError(f"expected a number or a string, found {_describe_value(value)}")
        return value

    conv.register_structure_hook(str | float, number_or_string)

    def is_spec(t) -> bool:
        return isinstance(t, type) and issubclass(t, ComponentSpec)

    def structure_spec(value, spec_cls):
        if not isinstance(value, dict):
            if isinstance(value, str):  # shorthand: loss = "builtin.mse"
                value = {spec_cls.key: value}
            else:
                raise TypeError(
                    f"expected a table with '{spec_cls.key} = \"plugin.{spec_cls.kind}\"', "
                    f"found {_describe_value(value)}"
                )
        if spec_cls.key not in value:
            raise _ComponentNameError(
                f"missing '{spec_cls.key}': which {spec_cls.kind} to use "
                f"(see: latentzoo list --kind {spec_cls.kind})"
            )
        name = value[spec_cls.key]
        if not isinstance(name, str):
            raise _ComponentNameError(
                f"'{spec_cls.key}' must be a string, found {_describe_value(name)}")
        from latentzoo.plugins import get_registry

        try:
            entry = get_registry().get(spec_cls.kind, name)
        except UnknownComponentError as error:
            raise _ComponentNameError(str(error)) from None
        config_cls = entry.load_config()
        rest = {k: v for k, v in value.items() if k != spec_cls.key}
        return spec_cls(name=entry.name, config=conv.structure(rest, config_cls))

    def unstructure_spec(spec):
        return {spec.key: spec.name, **conv.unstructure(spec.config)}

    conv.register_structure_hook_func(is_spec, structure_spec)
    conv.register_unstructure_hook_func(is_spec, unstructure_spec)
    return conv


converter = _make_converter()


# ---------------------------------------------------------------------------------------------
# Error messages with paths
# ---------------------------------------------------------------------------------------------


def _error_lines(error: BaseException, path: str) -> list[str]:
    where = path or "(top level)"
    if isinstance(error, ClassValidationError):
        lines = []
        with_notes, without = error.group_exceptions()
        for sub, note in with_notes:
            lines += _error_lines(sub, f"{path}.{note.name}" if path else note.name)
        for sub in without:
            lines += _error_lines(sub, path)
        return lines
    if isinstance(error, IterableValidationError):
        lines = []
        with_notes, without = error.group_exceptions()
        for sub, note in with_notes:
            lines += _error_lines(sub, f"{path}[{note.index}]")
        for sub in without:
            lines += _error_lines(sub, path)
        return lines
    if isinstance(error, ForbiddenExtraKeysError):
        names = [f.name for f in attrs.fields(error.cl)] if attrs.has(error.cl) else []
        return [
            f"{path + '.' if path else ''}{key}: unknown key{did_you_mean(key, names)}; "
            f"valid keys here: {', '.join(names) or '(none)'}"
            for key in sorted(error.extra_fields)
        ]
    if isinstance(error, BaseExceptionGroup):
        return [line for sub in error.exceptions for line in _error_lines(sub, path)]
    if isinstance(error, FieldValueError):
        return [f"{path + '.' if path else ''}{error.field}: {error}"]
    if isinstance(error, KeyError):
        return [f"{where}: missing required key"]
    text = str(error)
    if isinstance(error, TypeError) and "missing" in text and "required" in text:
        match = re.findall(r"'(\w+)'", text)
        return [f"{path + '.' if path else ''}{name}: missing required key" for name in match] or [
            f"{where}: {text}"]
    return [f"{where}: {text}"]


def structure(data: dict[str, Any], cls: type, source: str = "config") -> Any:
    """Structure ``data`` into ``cls``; a :class:`ConfigError` lists every problem with its path."""
    try:
        return converter.structure(data, cls)
    except (ClassValidationError, IterableValidationError, ForbiddenExtraKeysError,
            _ComponentNameError, TypeError, ValueError) as error:
        lines = _error_lines(error, "")
        raise ConfigError(f"{source}: invalid config:\n" + "\n".join(f"  {line}" for line in lines)) from error


def unstructure(obj: Any) -> Any:
    return converter.unstructure(obj)


# ---------------------------------------------------------------------------------------------
# Reading and composing TOML
# ---------------------------------------------------------------------------------------------


def deep_merge(base: dict, top: dict) -> dict:
    """``top`` over ``base``: tables merge recursively, everything else (arrays too) replaces."""
    merged = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_toml(path: str | Path, _stack: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a TOML config and its includes (relative to the including file), deep-merged."""
    path = Path(path)
    resolved = path.resolve()
    if resolved in _stack:
        chain = " -> ".join(str(p) for p in (*_stack, resolved))
        raise ConfigError(f"include cycle: {chain}")
    if not path.exists():
        origin = f" (included from {_stack[-1]})" if _stack else ""
        raise ConfigError(f"config file not found: {path}{origin}")
    if path.is_dir():
        raise ConfigError(f"{path} is a directory, not a config file")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise ConfigError(f"{path}: the file is empty; a config needs at least one [[stages]] table")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: TOML syntax error: {error}") from None
    includes = data.pop("include", [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ConfigError(f"{path}: include: expected an array of file paths, found {includes!r}")
    merged: dict[str, Any] = {}
    for include in includes:
        merged = deep_merge(merged, load_toml(path.parent / include, (*_stack, resolved)))
    return deep_merge(merged, data)


_PATH_PART = re.compile(r"([A-Za-z_][\w-]*)((?:\[\d+\])*)")


def parse_path(path: str) -> list[str | int]:
    """``"stages[1].loss.c"`` or ``"stages.1.loss.c"`` -> ``["stages", 1, "loss", "c"]``."""
    parts: list[str | int] = []
    for chunk in path.split("."):
        if chunk.isdigit():
            parts.append(int(chunk))
            continue
        match = _PATH_PART.fullmatch(chunk)
        if not match:
            raise ConfigError(f"malformed config path '{path}' at '{chunk}'")
        parts.append(match.group(1))
        parts += [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
    return parts


def format_path(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def parse_value(text: str) -> Any:
    """A TOML value (``3``, ``1e-3``, ``true``, ``[1, 2]``, ``"a"``), else the raw string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(data: dict[str, Any], override: str) -> dict[str, Any]:
    """Apply one ``path=value`` override to a raw config dict (a copy is returned)."""
    if "=" not in override:
        raise ConfigError(
            f"malformed override '{override}': expected 'path=value', e.g. 'stages[0].steps=100'")
    path_text, _, value_text = override.partition("=")
    path_text = path_text.strip()
    if not path_text:
        raise ConfigError(f"malformed override '{override}': the path before '=' is empty")
    try:
        parts = parse_path(path_text)
    except ConfigError as error:
        raise ConfigError(f"malformed override '{override}': {error}") from None
    value = parse_value(value_text.strip())
    data = copy.deepcopy(data)
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        here = format_path(parts[: depth + 1])
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                size = len(node) if isinstance(node, list) else 0
                raise ConfigError(
                    f"override '{override}': {format_path(parts[:depth]) or 'config'} has "
                    f"{size} entries, so index {part} does not exist")
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise ConfigError(f"override '{override}': {here} is not a table")
            node = node.setdefault(part, {})
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ConfigError(f"override '{override}': index {last} does not exist")
        node[last] = value
    else:
        if not isinstance(node, dict):
            raise ConfigError(f"override '{override}': {format_path(parts[:-1])} is not a table")
        node[last] = value
    return data


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    for override in overrides:
        data = apply_override(data, override)
    return data


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_drop_none(v) for v in value]
    return value


def to_toml(obj: Any) -> str:
    """A structured config as TOML text, every default filled in (``None`` fields omitted)."""
    data = _drop_none(unstructure(obj) if attrs.has(type(obj)) else obj)
    return tomli_w.dumps(data)


def annotate_overrides(error: UserError, overrides) -> UserError:
    """Add to a structuring error which override set a path it complains about, if one did."""
    message = str(error)
    error_paths = re.findall(r"^\s+(\S+?):", message, flags=re.M)
    notes = []
    for override in overrides:
        try:
            key = format_path(parse_path(override.partition("=")[0].strip()))
        except ConfigError:
            continue
        if any(key == p or key.startswith(p + ".") or key.startswith(p + "[") for p in error_paths):
            notes.append(f"  (set by the command-line override '{override}')")
    if not notes:
        return error
    return ConfigError(message + "\n" + "\n".join(notes))
