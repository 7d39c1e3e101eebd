"""Hook specifications of latentzoo.

A plugin is a module, named by an entry point in the group ``latentzoo``, that implements some
of these hooks. Every registration hook receives a ``register`` callback and calls it once per
component::

    @hookimpl
    def latentzoo_register_losses(register):
        register("proto_triplet", "latentzoo_susana.losses:ProtoTripletLoss",
                 config="latentzoo_susana.losses:ProtoTripletConfig",
                 doc="Proto-Triplet loss (Eq. 4)")

``register(name, target, *, config, doc="", aliases=(), example=None)``:

- ``name``: the component's name inside the plugin; its full name is ``<plugin>.<name>``.
- ``target``: ``"package.module:object"``, imported only when the component is built, so
  listing components never imports torch or a plugin's heavy modules.
- ``config``: ``"package.module:ConfigClass"``, a frozen attrs class (see
  :func:`latentzoo.config.option`); also imported lazily.
- ``doc``: one line shown by ``latentzoo list``.
- ``example``: an optional small experiment (the dict a TOML config parses to, with
  ``stages``; keep its training short) in which the component takes part; the test kit runs
  it. See ``latentzoo.testing``.

Hooks are always called with keyword arguments. None is ``firstresult``.
"""

from __future__ import annotations

import pluggy

PROJECT = "latentzoo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# ---------------------------------------------------------------------------------------------
# Component registration (called once per process, when the registry is first needed)
# ---------------------------------------------------------------------------------------------


@hookspec
def latentzoo_register_data(register):
    """Register data components: ``target(config, ctx) -> latentzoo.data.DataSplits``.

    :param register: the callback described in this module's docstring.
    """


@hookspec
def latentzoo_register_models(register):
    """Register models: ``target(config, ctx) -> torch.nn.Module``.

    A model used by representation metrics may define ``embed(x)``; otherwise its forward
    output is used as the representation.

    :param register: the callback described in this module's docstring.
    """


@hookspec
def latentzoo_register_losses(register):
    """Register losses: ``target(config, ctx) -> torch.nn.Module`` called as ``loss(model, batch)``.

    The call returns a scalar tensor, or a dict with key ``"loss"`` and further scalar tensors
    to log. A loss may hold state (an EMA teacher, a centre, learnable parameters): it is an
    ``nn.Module``, trained with the model, checkpointed and restored with the run. It may
    define ``after_step(model, step)``, called after each optimiser update (the documented step
    hook: EMA teachers, schedules of the loss's own).

    :param register: the callback described in this module's docstring.
    """


@hookspec
def latentzoo_register_samplers(register):
    """Register samplers: anything that draws.

    ``target(config, ctx)`` returns an object with one or both of:

    - ``__call__(batch) -> batch``: a training-time draw applied to each batch before the loss
      (noise levels, optimal-transport pairing, masks, few-shot episodes);
    - ``sample(model, num) -> Tensor``: generation from a trained model (used by the
      ``generate`` stage), returning ``num`` samples shaped like the data's inputs.

    :param register: the callback described in this module's docstring.
    """


@hookspec
def latentzoo_register_metrics(register):
    """Register metrics: ``target(config, ctx)`` returns a callable ``metric(evaluator) -> dict``.

    The :class:`latentzoo.evaluation.Evaluator` gives the metric the model(s), the data splits,
    generated samples, and ``evaluator.predict(split, fn)`` which runs over a whole split in
    every process and gathers the outputs in dataset order. The dict maps metric names to
    floats (and optionally ``"figures"`` to a dict of matplotlib figures).

    :param register: the callback described in this module's docstring.
    """


# ---------------------------------------------------------------------------------------------
# Experiment structure
# ---------------------------------------------------------------------------------------------


@hookspec
def latentzoo_register_stages(register):
    """Register stage kinds: procedures an experiment runs in order (``train``, ``evaluate``…).

    ``target(config, ctx: latentzoo.stages.StageContext) -> latentzoo.stages.StageResult``. The
    config class is a subclass of :class:`latentzoo.stages.StageConfig`. Use a stage kind only
    for procedures that are not a training loop with components (e.g. fitting closed-form
    classifiers over a sweep of training-set sizes); never copy the training loop.

    :param register: the callback described in this module's docstring.
    """


REGISTRATION_HOOKS = {
    "data": "latentzoo_register_data",
    "model": "latentzoo_register_models",
    "loss": "latentzoo_register_losses",
    "sampler": "latentzoo_register_samplers",
    "metric": "latentzoo_register_metrics",
    "stage": "latentzoo_register_stages",
}
