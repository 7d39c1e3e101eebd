"""Errors a user can act on. The CLI prints them without a traceback and exits with status 2."""

from __future__ import annotations

import difflib


class UserError(Exception):
    """A problem with the user's input: config, CLI usage, missing data or artifact."""


class ConfigError(UserError):
    """A config that cannot be read, composed or parsed."""


class UnknownComponentError(UserError):
    """A component name that no loaded plugin registered."""


class PluginLoadError(UserError):
    """Plugins failed to load while ``LATENTZOO_STRICT_PLUGINS`` is set."""


class MissingDependencyError(UserError):
    """An optional dependency a component needs is not installed."""


class MissingDataError(UserError):
    """A dataset or file a component needs is not present."""


class TrainingDivergedError(UserError):
    """The loss became NaN or infinite."""


def did_you_mean(word: str, candidates, n: int = 3, cutoff: float = 0.6) -> str:
    """``" (did you mean 'a' or 'b'?)"`` for close matches of ``word``, else ``""``."""
    matches = difflib.get_close_matches(word, list(candidates), n=n, cutoff=cutoff)
    if not matches:
        return ""
    return " (did you mean " + " or ".join(repr(m) for m in matches) + "?)"


def require(module: str, extra: str, purpose: str, hint: str = ""):
    """Import an optional dependency, or fail saying how to install it.

    ``extra`` names the core's extra (``pip install 'latentzoo[extra]'``); a plugin passes
    ``hint`` instead, e.g. ``"pip install 'latentzoo-relreps[real]'"``.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        how = hint or f"pip install 'latentzoo[{extra}]'"
        raise MissingDependencyError(
            f"{purpose} needs the package '{module.split('.')[0]}', which is not installed: "
            f"{how} ({error})"
        ) from None
