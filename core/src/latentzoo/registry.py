"""The component registry, fed by the plugins' registration hooks.

Entries are lazy: a target and its config class are ``"module:object"`` strings imported only
when the component is built or shown. Full names are ``<plugin>.<component>``; a short name
works wherever it is unique within its kind.
"""

from __future__ import annotations

import fnmatch
import importlib
import re
from typing import Any

import attrs

from latentzoo.errors import UnknownComponentError, UserError, did_you_mean

KINDS = ("data", "model", "loss", "sampler", "metric", "stage")
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_NAME = re.compile(r"^[A-Za-z_][\w-]*$")


class RegistrationError(UserError):
    """A plugin registered something invalid or colliding."""


@attrs.frozen
class Entry:
    """One registered component."""

    kind: str
    name: str  # full name, "<plugin>.<component>"
    target: str  # "module:object"
    config: str  # "module:ConfigClass"
    plugin: str
    distribution: str
    version: str
    doc: str = ""
    aliases: tuple[str, ...] = ()
    example: dict | None = attrs.field(default=None, eq=False)

    @property
    def short_name(self) -> str:
        return self.name.split(".", 1)[1]

    def load_target(self) -> Any:
        return import_object(self.target, f"{self.kind} '{self.name}'")

    def load_config(self) -> type:
        cls = import_object(self.config, f"config of {self.kind} '{self.name}'")
        if not attrs.has(cls):
            raise RegistrationError(
                f"config class {self.config} of {self.kind} '{self.name}' is not an attrs class"
            )
        return cls

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "plugin": self.plugin,
            "distribution": self.distribution,
            "version": self.version,
            "target": self.target,
            "config": self.config,
            "doc": self.doc,
            "aliases": list(self.aliases),
        }


def import_object(spec: str, what: str = "object") -> Any:
    module_name, _, attr_path = spec.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as error:
        raise UserError(f"cannot import {what} from '{spec}': {error}") from error
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UserError(
                f"cannot import {what}: module '{module_name}' has no attribute '{attr_path}'"
            ) from None
    return obj


def _natural_key(text: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


class Registry:
    """All components registered by the loaded plugins, by kind and full name."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
        self.failed_plugins: dict[str, str] = {}  # plugin name -> error text
        self.plugins: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)

    # -- registration ---------------------------------------------------------------------------
    def add(self, entry: Entry) -> None:
        if entry.kind not in KINDS:
            raise RegistrationError(f"unknown component kind {entry.kind!r}; kinds: {KINDS}")
        for field, value in (("target", entry.target), ("config", entry.config)):
            if not isinstance(value, str) or not _TARGET.match(value):
                raise RegistrationError(
                    f"{entry.kind} '{entry.name}': {field} must be a 'package.module:Object' "
                    f"string (lazy import), found {value!r}"
                )
        table = self._entries[entry.kind]
        existing = table.get(entry.name)
        if existing is not None:
            if existing.target == entry.target:
                return
            raise RegistrationError(
                f"{entry.kind} '{entry.name}' is registered twice with different targets: "
                f"{existing.target} (distribution {existing.distribution} {existing.version}) and "
                f"{entry.target} (distribution {entry.distribution} {entry.version}); "
                "uninstall one of them"
            )
        table[entry.name] = entry

    def registrar(self, kind: str, plugin: str, distribution: str, version: str):
        """The ``register`` callback handed to one plugin's hook for one kind."""

        def register(name, target, *, config, doc="", aliases=(), example=None):
            if not isinstance(name, str) or not _NAME.match(name):
                raise RegistrationError(
                    f"plugin '{plugin}' registered {kind} {name!r}: a component name is an "
                    f"identifier without dots; it is namespaced as '{plugin}.<name>' for you"
                )
            self.add(
                Entry(
                    kind=kind,
                    name=f"{plugin}.{name}",
                    target=target,
                    config=config,
                    plugin=plugin,
                    distribution=distribution,
                    version=version,
                    doc=doc,
                    aliases=tuple(f"{plugin}.{alias}" for alias in aliases),
                    example=example,
                )
            )

        return register

    # -- lookup ---------------------------------------------------------------------------------
    def entries(self, pattern: str = "*", kind: str | None = None) -> list[Entry]:
        kinds = [kind] if kind else list(KINDS)
        found = [
            entry
            for k in kinds
            for entry in self._entries[k].values()
            if fnmatch.fnmatchcase(entry.name, pattern) or fnmatch.fnmatchcase(entry.short_name, pattern)
        ]
        return sorted(found, key=lambda e: (KINDS.index(e.kind), _natural_key(e.name)))

    def get(self, kind: str, name: str) -> Entry:
        table = self._entries[kind]
        if name in table:
            return table[name]
        for entry in table.values():
            if name in entry.aliases:
                return entry
        if "." not in name:
            matches = [e for e in table.values() if e.short_name == name or name in
                       {a.split(".", 1)[1] for a in e.aliases}]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                names = ", ".join(sorted(e.name for e in matches))
                raise UnknownComponentError(
                    f"{kind} name '{name}' is ambiguous: it could be {names}; use the full name"
                )
        raise UnknownComponentError(self._unknown_message(kind, name))

    def _unknown_message(self, kind: str, name: str) -> str:
        table = self._entries[kind]
        candidates = list(table) + [e.short_name for e in table.values()]
        message = f"unknown {kind} '{name}'{did_you_mean(name, candidates)}"
        plugin = name.split(".", 1)[0] if "." in name else None
        if plugin and plugin in self.failed_plugins:
            message += (
                f"; plugin '{plugin}' is installed but failed to load: {self.failed_plugins[plugin]}"
            )
        elif plugin and plugin not in self.plugins:
            message += (
                f"; no plugin named '{plugin}' is loaded: if it is a latentzoo paper plugin, "
                f"install it with: pip install latentzoo-{plugin.replace('_', '-')}"
            )
        elif self.failed_plugins:
            message += "; plugins that failed to load: " + ", ".join(sorted(self.failed_plugins))
        others = [k for k in KINDS if k != kind and name in self._entries[k]]
        if others:
            message += f"; '{name}' is a {others[0]}, not a {kind}"
        if not table:
            message += f"; no {kind} is registered at all"
        return message
