"""Registrations of the dual_head_kd plugin (Dual-Head KD, arXiv:2411.08937): names only, no heavy imports."""

from latentzoo import hookimpl

_D = "latentzoo_dual_head_kd.data"
_M = "latentzoo_dual_head_kd.models"
_L = "latentzoo_dual_head_kd.losses"
_E = "latentzoo_dual_head_kd.metrics"

_DATA = {"name": "builtin.digits", "train_limit": 256}
_TEACHER = {"kind": "train", "name": "teacher", "data": _DATA,
            "model": {"name": "builtin.mlp", "hidden": [32]},
            "loss": "builtin.cross_entropy", "steps": 3, "batch_size": 32}


def _distil(loss: dict, head2: str = "none", metrics: tuple = ()) -> dict:
    """A tiny teacher -> student experiment in which ``loss`` trains the student."""
    student = {"kind": "train", "name": "student", "inputs": {"teacher": "teacher"}, "data": _DATA,
               "model": {"name": "dual_head_kd.dual_head", "hidden": [16], "head2": head2},
               "loss": loss, "steps": 3, "batch_size": 32,
               "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4},
               "metrics": [{"name": m} for m in metrics]}
    return {"stages": [_TEACHER, student]}


@hookimpl
def latentzoo_register_data(register):
    register("mnist1d", f"{_D}:cached_mnist1d", config="latentzoo.builtin.datasets:Mnist1dConfig",
             doc="builtin.mnist1d generated once per process and copied to each stage (same splits)")


@hookimpl
def latentzoo_register_models(register):
    register("dual_head", f"{_M}:dual_head", config=f"{_M}:DualHeadConfig",
             doc="dual-head student: backbone φ, CE head1 (test time), auxiliary head2 (linear/MLP)",
             example=_distil({"name": "dual_head_kd.dhkd"}, head2="mlp", metrics=("dual_head_kd.top1_head1",)))
    register("conv1d", f"{_M}:conv1d", config=f"{_M}:Conv1dConfig",
             doc="1-D CNN (stride-2 Conv1d-BN-ReLU blocks, linear head): the mnist1d teacher",
             example={"stages": [{"kind": "train", "name": "teacher", "data": _DATA,
                                  "model": {"name": "dual_head_kd.conv1d", "channels": [8, 8]},
                                  "loss": "builtin.cross_entropy", "steps": 3, "batch_size": 32,
                                  "metrics": [{"name": "builtin.accuracy"}]}]})


@hookimpl
def latentzoo_register_losses(register):
    register("dhkd", f"{_L}:dhkd", config=f"{_L}:DHKDConfig",
             doc="DHKD: γ·CE(z₁) + α·BinaryKL-Norm(z₂, z_t) on a dual-head student, gradient alignment",
             example=_distil({"name": "dual_head_kd.dhkd"}, head2="linear"))
    register("kd", f"{_L}:kd", config=f"{_L}:KDConfig",
             doc="Hinton KD baseline: γ·CE + α·T²·KL(softmax(z_t/T) ‖ softmax(z_s/T)), T = 4",
             example=_distil({"name": "dual_head_kd.kd"}))
    register("binary_kl", f"{_L}:binary_kl", config=f"{_L}:LogitLossConfig",
             doc="BinaryKL: per-class Bernoulli KL(σ(z_t/T) ‖ σ(z_s/T)), T = 2",
             example=_distil({"name": "dual_head_kd.binary_kl"}))
    register("binary_kl_norm", f"{_L}:binary_kl_norm", config=f"{_L}:LogitLossConfig",
             doc="BinaryKL-Norm: T²·log cosh((z_s − z_t)/2T), T = 2",
             example=_distil({"name": "dual_head_kd.binary_kl_norm"}))
    register("single_head_ce_bkl", f"{_L}:single_head_ce_bkl", config=f"{_L}:SingleHeadConfig",
             doc="ablation: CE + BinaryKL on the same linear head (the collapse of Sec. 3)",
             example=_distil({"name": "dual_head_kd.single_head_ce_bkl"}))


@hookimpl
def latentzoo_register_metrics(register):
    register("top1_head1", f"{_E}:top1_head1", config=f"{_E}:Top1Config",
             doc="top-1 accuracy of head 1 (test-time head); head 2's as a diagnostic",
             example=_distil({"name": "dual_head_kd.dhkd", "grad_align": False}, head2="linear",
                             metrics=("dual_head_kd.top1_head1",)))
    register("head_geometry", f"{_E}:head_geometry", config=f"{_E}:HeadGeometryConfig",
             doc="CE-head diagnostic: mean pairwise cosine of W₁ rows, row-norm mean and CV",
             example=_distil({"name": "dual_head_kd.single_head_ce_bkl"},
                             metrics=("dual_head_kd.head_geometry",)))
