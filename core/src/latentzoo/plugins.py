"""Finding and loading plugins, one at a time, so that a broken one cannot take the others down.

Plugins are the entry points of the group ``latentzoo``; the core's own ``builtin`` plugin is
one of them. Each is imported and registered on its own; a failure (import error, a hook with
a wrong signature or a misspelt name, a hook that raises) is recorded and the plugin skipped.

Environment:

- ``LATENTZOO_STRICT_PLUGINS=1``: any failure is an error (CI and tox run this way).
- ``LATENTZOO_DISABLE_PLUGINS=a,b``: skip these plugins.
- ``LATENTZOO_PLUGINS=a,b``: load only these plugins (and ``builtin``).
"""

from __future__ import annotations

import os
import traceback
from importlib import metadata

import pluggy

from latentzoo import hookspecs
from latentzoo.errors import PluginLoadError
from latentzoo.registry import KINDS, Registry

ENTRY_POINT_GROUP = "latentzoo"
BUILTIN = "builtin"

_registry: Registry | None = None


def _env_list(name: str) -> set[str]:
    return {item.strip() for item in os.environ.get(name, "").split(",") if item.strip()}


def strict_mode() -> bool:
    return os.environ.get("LATENTZOO_STRICT_PLUGINS", "").lower() not in ("", "0", "false", "no")


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return " ".join(text.split())


def _check_hook_names(plugin_name: str, module, manager: pluggy.PluginManager) -> None:
    known = set(hookspecs.REGISTRATION_HOOKS.values())
    for attr in dir(module):
        if attr.startswith("latentzoo_") and callable(getattr(module, attr)) and attr not in known:
            raise pluggy.PluginValidationError(
                module,
                f"unknown hook '{attr}' in plugin '{plugin_name}'; known hooks: "
                + ", ".join(sorted(known)),
            )


def load_registry(entry_points=None) -> Registry:
    """Load every plugin and collect their registrations into a fresh :class:`Registry`."""
    registry = Registry()
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    if entry_points is None:
        entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
    disabled = _env_list("LATENTZOO_DISABLE_PLUGINS")
    allowed = _env_list("LATENTZOO_PLUGINS")
    by_name: dict[str, list] = {}
    for ep in entry_points:
        by_name.setdefault(ep.name, []).append(ep)
    for name, eps in sorted(by_name.items(), key=lambda item: (item[0] != BUILTIN, item[0])):
        if name in disabled or (allowed and name not in allowed | {BUILTIN}):
            continue
        ep = eps[0]
        dist = getattr(ep, "dist", None)
        distribution = dist.metadata["Name"] if dist is not None else "?"
        version = dist.version if dist is not None else "?"
        if len({other.value for other in eps}) > 1:
            claims = ", ".join(sorted(
                f"{getattr(other.dist, 'metadata', {}).get('Name', '?')} ({other.value})" for other in eps))
            registry.failed_plugins[name] = (
                f"several installed distributions declare plugin '{name}' with different modules: "
                f"{claims}; uninstall all but one")
            continue
        try:
            module = ep.load()
            _check_hook_names(ep.name, module, manager)
            manager.register(module, name=ep.name)
        except BaseException as error:  # noqa: BLE001 - a plugin must not take the tool down
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            registry.failed_plugins[ep.name] = _describe(error)
            continue
        # Register this plugin's components into a scratch registry first, so that a hook
        # that raises halfway leaves no partial registrations behind.
        try:
            staged = Registry()
            staged._entries = {k: dict(v) for k, v in registry._entries.items()}
            for kind in KINDS:
                hook = getattr(manager.hook, hookspecs.REGISTRATION_HOOKS[kind])
                for impl in hook.get_hookimpls():
                    if impl.plugin is module:
                        impl.function(register=staged.registrar(kind, ep.name, distribution, version))
        except BaseException as error:  # noqa: BLE001
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            manager.unregister(module)
            registry.failed_plugins[ep.name] = _describe(error)
            if os.environ.get("LATENTZOO_DEBUG"):
                traceback.print_exc()
            continue
        registry._entries = staged._entries
        registry.plugins[ep.name] = (distribution, version)
    if registry.failed_plugins and strict_mode():
        lines = "\n".join(f"  {name}: {err}" for name, err in sorted(registry.failed_plugins.items()))
        raise PluginLoadError(
            "plugins failed to load (LATENTZOO_STRICT_PLUGINS is set):\n" + lines
        )
    return registry


def get_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    global _registry
    if _registry is None:
        _registry = load_registry()
    return _registry


def reset_registry() -> None:
    """Forget the loaded registry (tests that install plugins at run time)."""
    global _registry
    _registry = None
