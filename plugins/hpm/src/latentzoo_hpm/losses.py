"""HPM's objective: MAE reconstruction + loss prediction, with hard-patch masks (arXiv 2312.13714).

Official code: ``models_mae_learn_loss.py`` (``forward_loss``, ``forward_learning_loss``) and
``engine_pretrain.py`` (the order of one step). Equations, for one image with masked set M:

- Reconstruction (MAE's ``forward_loss``): ``ℓ_i = mean_pixels (pred_i − target_i)²`` for i ∈ M;
  ``L_rec`` = mean of ℓ over masked patches and batch. With ``norm_pix_loss`` the target is
  standardised per patch, ``(t − mean) / sqrt(var_unbiased + 1e-6)``.
- Relative loss prediction (``forward_learning_loss(relative=True)``): over ordered pairs
  (i, j) of masked patches,
  ``−[1(ℓ_i > ℓ_j) log(σ(ŝ_i − ŝ_j) + 1e-6) + 1(ℓ_i < ℓ_j) log(1 − σ(ŝ_i − ŝ_j) + 1e-6)]``,
  summed over all pairs of all images and divided by the number of non-tied ordered pairs
  (a pooled mean). ℓ is detached.
- MSE loss prediction (the paper's ablation, ``relative=False``):
  ``mean (ŝ − (ℓ − μ)/sqrt(σ² + 1e-6))²`` with per-image mean μ and unbiased variance σ² over the masked patches.
- Total (``engine_pretrain.py``: ``loss += loss_learn``): ``L = L_rec + λ L_pred`` (λ = 1);
  L_pred's gradient reaches the encoder.

:class:`HPMLoss` is the training objective. It owns the state HPM keeps across steps: the EMA
teacher (a frozen copy of the whole network, timm ``ModelEma``), which looks at the unmasked
image and picks the hard patches of the student's mask, and the step counter of the
easy-to-hard and EMA schedules. Both are part of the loss's state, so the core checkpoints and
restores them with the run.
"""

from __future__ import annotations

import attrs
import torch
from torch import nn

from latentzoo.config import option
from latentzoo.ema import EMA
from latentzoo.errors import UserError
from latentzoo_hpm.schedule import ema_decay, epoch_of_step, hard_patch_count, hard_patch_mask
from latentzoo_vit.masking import masked_count, random_masking
from latentzoo_vit.vit import gather_tokens

__all__ = ["HPMConfig", "HPMLoss", "mse_loss_prediction", "reconstruction_loss",
           "relative_loss_prediction", "standardize"]


# ---------------------------------------------------------------------------------------------
# The equations, as functions of tensors
# ---------------------------------------------------------------------------------------------


def standardize(values: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``(v − mean) / sqrt(var_unbiased + 1e-6)`` along ``dim`` (official ``forward_loss`` and the
    MSE predictor target). A constant row maps to 0."""
    mean = values.mean(dim=dim, keepdim=True)
    var = values.var(dim=dim, keepdim=True)
    return (values - mean) / (var + 1e-6) ** 0.5


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor,
                        norm_pix_loss: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """MAE's masked MSE. ``pred``, ``target``: (b, M, p²C) masked patches, same order.

    Returns ``(L_rec, ℓ)``: the mean over every element, and the per-patch mean ℓ (b, M), the
    loss predictor's target.
    """
    if norm_pix_loss:
        target = standardize(target, dim=-1)
    per_patch = ((pred - target) ** 2).mean(dim=-1)
    return per_patch.mean(), per_patch


def relative_loss_prediction(scores: torch.Tensor, losses: torch.Tensor,
                             all_tied: str = "nan") -> torch.Tensor:
    """HPM's relative (pairwise ranking) loss of predicted scores ŝ against actual losses ℓ.

    Args:
        scores: ŝ (b, M), the predictor's output on the masked patches.
        losses: ℓ (b, M), their reconstruction losses, same order (detached here).
        all_tied: when no pair is ordered (every ℓ tied, or M = 1) the official result is
            0 / 0 = NaN (``"nan"``); ``"zero"`` returns 0 instead.
    """
    losses = losses.detach()
    # [b, a, c] compares patch c with patch a, as the official unsqueeze(1) - unsqueeze(2)
    positive = losses.unsqueeze(1) > losses.unsqueeze(2)
    negative = losses.unsqueeze(1) < losses.unsqueeze(2)
    margin = torch.sigmoid(scores.unsqueeze(1) - scores.unsqueeze(2))
    pair_losses = (-positive.float() * torch.log(margin + 1e-6)
                   - negative.float() * torch.log(1 - margin + 1e-6))
    valid = (positive | negative).sum()
    if all_tied == "zero" and valid == 0:
        return pair_losses.sum() * 0.0
    return pair_losses.sum() / valid


def mse_loss_prediction(scores: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
    """The ablation: MSE between ŝ and the per-image standardised ℓ (unbiased variance)."""
    return ((scores - standardize(losses.detach(), dim=1)) ** 2).mean()


# ---------------------------------------------------------------------------------------------
# The training objective
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class HPMConfig:
    mask_ratio: float = option(0.75, "share of patches masked (N_mask = L - int(L (1 - ratio)))", ge=0, lt=1)
    mask: str = option("hard", "how the student's mask is chosen: 'hard' = HPM (top predicted "
                       "loss of the EMA teacher + random), 'random' = MAE", choices=("hard", "random"))
    easy_to_hard: bool = option(True, "raise the share of loss-chosen patches from 0 to hard_ratio "
                                "over training (false: hard_ratio from the start)")
    hard_ratio: float = option(0.5, "alpha_T: final share of the masked patches chosen by predicted loss",
                               ge=0, le=1)
    loss_predictor: str = option("relative", "loss-prediction objective: the relative (ranking) "
                                 "loss, the MSE ablation, or none (MAE)", choices=("relative", "mse", "none"))
    predictor_weight: float = option(1.0, "lambda: weight of L_pred in L_rec + lambda L_pred", ge=0)
    norm_pix_loss: bool = option(False, "standardise each target patch (MAE's norm_pix_loss)")
    all_tied: str = option("nan", "relative loss when no pair of losses is ordered: NaN as the "
                           "official code, or 0", choices=("nan", "zero"))
    total_steps: int = option(1000, "the stage's steps: the schedules below are laid out over them", gt=0)
    epochs: int = option(200, "T: how many epochs total_steps stand for (the schedules are per epoch)", gt=0)
    ema_decay: float = option(0.999, "EMA teacher decay at epoch 0", ge=0, lt=1)
    ema_decay_final: float = option(0.9999, "EMA teacher decay from ema_ramp_epochs on", ge=0, lt=1)
    ema_ramp_epochs: int = option(100, "epochs over which the decay rises linearly", gt=0)


class HPMLoss(nn.Module):
    """``L_rec + λ L_pred`` on masks chosen by the EMA teacher's predicted losses (HPM's training step).

    One step (``engine_pretrain.py``): the teacher predicts ŝ on the full image; the mask
    takes the ``n_hard`` patches with the highest ŝ plus random ones; the student reconstructs
    and predicts its own losses on that mask; after the optimiser update the teacher moves
    towards the student (:meth:`after_step`). The teacher is a copy of the student made on the
    first call (the model is not known when the loss is built); a checkpoint's teacher weights
    are kept until then (:meth:`_load_from_state_dict`), so a resumed run continues exactly.
    """

    def __init__(self, config: HPMConfig):
        super().__init__()
        self.config = config
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.register_module("teacher", None)
        self._pending_teacher: dict[str, torch.Tensor] | None = None

    # -- schedules --------------------------------------------------------------------------------
    def epoch(self, step: int) -> int:
        return epoch_of_step(step, self.config.total_steps, self.config.epochs)

    def num_hard(self, num_masked: int, step: int) -> int:
        if self.config.mask == "random":
            return 0
        return hard_patch_count(num_masked, self.epoch(step), self.config.epochs,
                                self.config.easy_to_hard, self.config.hard_ratio)

    def decay(self, step: int) -> float:
        return ema_decay(self.epoch(step), self.config.ema_decay, self.config.ema_decay_final,
                         self.config.ema_ramp_epochs)

    # -- teacher ----------------------------------------------------------------------------------
    def teacher_of(self, model: nn.Module) -> EMA:
        if self.teacher is None:
            self.teacher = EMA(model, self.config.ema_decay)
            if self._pending_teacher is not None:
                self.teacher.load_state_dict(self._pending_teacher)
                self._pending_teacher = None
        return self.teacher

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint holds the teacher, but before the first call there is no teacher module
        # to load it into: keep its tensors until teacher_of() builds it.
        if self.teacher is None:
            keys = [k for k in state_dict if k.startswith(prefix + "teacher.")]
            if keys:
                self._pending_teacher = {k[len(prefix + "teacher."):]: state_dict.pop(k) for k in keys}
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -- the objective ----------------------------------------------------------------------------
    def choose_mask(self, model: nn.Module, images: torch.Tensor, num_masked: int) -> tuple[torch.Tensor, int]:
        """The student's mask (b, L) and how many patches of each row were chosen as hard."""
        num_hard = self.num_hard(num_masked, int(self.step))
        if self.config.mask == "random":
            return random_masking(images.shape[0], model.num_patches, num_masked, device=images.device).mask, 0
        teacher = self.teacher_of(model)  # built even while n_hard = 0: it must track from step 0
        if num_hard <= 0:
            return random_masking(images.shape[0], model.num_patches, num_masked, device=images.device).mask, 0
        with torch.no_grad():
            scores = teacher.module.predict_patch_loss(images)
        return hard_patch_mask(scores, num_masked, num_hard), num_hard

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if not hasattr(model, "forward_masked"):
            raise UserError(f"hpm.hpm needs a masked autoencoder (hpm.mae_vit), found {type(model).__name__}")
        predict = self.config.loss_predictor != "none"
        if (predict or self.config.mask == "hard") and not model.has_loss_predictor:
            raise UserError("hpm.hpm: loss_predictor / mask = 'hard' need the model's loss predictor; "
                            "set the model's loss_predictor = true")
        images = batch["x"]
        num_masked = masked_count(model.num_patches, self.config.mask_ratio)
        if num_masked == 0:
            raise UserError(f"hpm.hpm: mask_ratio {self.config.mask_ratio} masks no patch of "
                            f"{model.num_patches}; raise it")
        mask, num_hard = self.choose_mask(model, images, num_masked)
        out = model.forward_masked(images, mask, predict_loss=predict)
        target = gather_tokens(model.patches(images), out.masked_ids)       # masked, ascending
        # losses in fp32 even under autocast: log(σ + 1e-6) needs the precision (spec pitfall)
        rec, per_patch = reconstruction_loss(out.pixels[:, -num_masked:].float(), target.float(),
                                             self.config.norm_pix_loss)
        logs = {"reconstruction": rec.detach(),
                "hard_patches": torch.tensor(float(num_hard), device=images.device)}
        total = rec
        if predict:
            scores = out.loss_pred[:, -num_masked:].float()   # the student's ŝ on its masked tail
            if self.config.loss_predictor == "relative":
                pred = relative_loss_prediction(scores, per_patch, self.config.all_tied)
            else:
                pred = mse_loss_prediction(scores, per_patch)
            logs["loss_prediction"] = pred.detach()
            total = total + self.config.predictor_weight * pred
        return {"loss": total, **logs}

    @torch.no_grad()
    def after_step(self, model: nn.Module, step: int) -> None:
        """EMA update with the decay of the epoch the finished step belongs to."""
        self.step.fill_(step)
        if self.teacher is not None:
            self.teacher.update(model, self.decay(step - 1))


def hpm_loss(config: HPMConfig, ctx) -> HPMLoss:
    if config.mask == "hard" and config.loss_predictor == "none":
        raise UserError("mask = 'hard' picks patches by the teacher's predicted loss, which needs a "
                        "trained loss predictor: set loss_predictor to 'relative' or 'mse'")
    return HPMLoss(config)
