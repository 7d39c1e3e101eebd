"""Building registered components from their specs."""

from __future__ import annotations

from typing import Any

import attrs

from latentzoo.config import ComponentSpec
from latentzoo.errors import UserError
from latentzoo.plugins import get_registry


@attrs.define
class BuildContext:
    """What a component's factory receives beside its config: ``target(config, ctx)``.

    Attributes:
        data: shapes and class count of the stage's data (``None`` where a stage has none).
        splits: the stage's data itself, for components that draw from it (episode samplers,
            anchors); ``None`` where a stage has none.
        artifacts: earlier stages' models by the names the stage's ``inputs`` gives them.
        seed: the stage's seed.
        stage: the stage's name.
        steps: the training stage's number of updates (0 outside training), for components
            with schedules of their own.
        model: in a train stage, the model being trained, for the loss and sampler (an EMA
            teacher made at construction); ``None`` elsewhere.
    """

    data: Any = None
    splits: Any = None
    artifacts: dict[str, Any] = attrs.field(factory=dict)
    seed: int = 0
    stage: str = ""
    steps: int = 0
    model: Any = None


def build(spec: ComponentSpec, ctx: BuildContext, where: str = "") -> Any:
    """Import a component's target and call it with its config and the build context.

    A :class:`UserError` or ``ValueError`` raised while building is reported with ``where``
    (the config path, e.g. ``stages[1].loss``) and the component's name.
    """
    entry = get_registry().get(spec.kind, spec.name)
    target = entry.load_target()
    try:
        return target(spec.config, ctx)
    except (UserError, ValueError) as error:
        prefix = f"{where} ({spec.name})" if where else spec.name
        kind = type(error) if isinstance(error, UserError) else UserError
        raise kind(f"{prefix}: {error}") from error
