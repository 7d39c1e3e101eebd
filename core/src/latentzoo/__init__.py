"""latentzoo: a plugin framework for latent-space and representation-learning research.

Importing this package is cheap (no torch); the heavy modules load when a component is built.
"""

from latentzoo.config import option
from latentzoo.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["hookimpl", "option", "__version__"]
