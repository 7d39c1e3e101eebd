"""HPM's mask selection and schedules (arXiv 2312.13714, "easy-to-hard" mask generation).

Official code: ``models_mae_learn_loss.py:generate_mask`` and ``engine_pretrain.py``.

- :func:`hard_patch_count`: of the ``N_mask`` masked patches, ``n_hard = int(N_mask · α_t)``
  are chosen by predicted loss, with ``α_t = α_T · (epoch + 1) / T`` (easy-to-hard, α_T = 0.5)
  or a fixed ``α_T``.
- :func:`hard_patch_mask`: mask the ``n_hard`` patches with the largest predicted loss ŝ, then
  ``N_mask − n_hard`` more uniformly at random from the rest (fully random if ``n_hard ≤ 0``).
  Vectorised over the batch; ties in ŝ are broken at random.
- :func:`ema_decay`: the EMA teacher's decay, ``d = 0.999 + (epoch / 100)(0.9999 − 0.999)``
  below epoch 100, then 0.9999 (set once per epoch).
"""

from __future__ import annotations

import torch

__all__ = ["ema_decay", "epoch_of_step", "hard_patch_count", "hard_patch_mask", "rank_by_score"]


def hard_patch_count(num_masked: int, epoch: int, total_epochs: int, easy_to_hard: bool = True,
                     final_ratio: float = 0.5) -> int:
    """``n_hard = int(N_mask · α_t)``, α_t = ``final_ratio · (epoch + 1) / T`` or ``final_ratio``.

    The float expression is the official one (``keep_ratio = float((epoch + 1) / total_epoch) *
    0.5``; ``int((L - len_keep) * keep_ratio)``), so the counts agree at every epoch.
    """
    ratio = float((epoch + 1) / total_epochs) * final_ratio if easy_to_hard else final_ratio
    return int(num_masked * ratio)


def rank_by_score(scores: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """(b, L) patch indices by descending score; equal scores in the random order of ``noise``."""
    permutation = torch.argsort(noise, dim=1)
    by_score = torch.sort(torch.gather(scores, 1, permutation), dim=1, descending=True, stable=True)
    return torch.gather(permutation, 1, by_score.indices)


def hard_patch_mask(scores: torch.Tensor, num_masked: int, num_hard: int,
                    noise: torch.Tensor | None = None) -> torch.Tensor:
    """Boolean mask (b, L), True = masked: the ``num_hard`` top-ŝ patches plus random others.

    Args:
        scores: (b, L) predicted losses ŝ in natural patch order (the EMA teacher's, full image).
        num_masked: N_mask, masked patches per image.
        num_hard: n_hard ≤ N_mask of them chosen by score; ``≤ 0`` gives a fully random mask.
        noise: (b, L) uniform [0, 1) draws for the random part (drawn here if ``None``).
    """
    batch, length = scores.shape
    if not 0 <= num_masked <= length:
        raise ValueError(f"cannot mask {num_masked} of {length} patches")
    if num_hard > num_masked:
        raise ValueError(f"num_hard ({num_hard}) exceeds num_masked ({num_masked})")
    if noise is None:
        noise = torch.rand(batch, length, device=scores.device)
    keys = noise.clone()
    if num_hard > 0:  # hard patches get a key above every uniform draw: always among the top N_mask
        keys.scatter_(1, rank_by_score(scores, noise)[:, :num_hard], 2.0)
    chosen = torch.topk(keys, num_masked, dim=1).indices
    return torch.zeros(batch, length, dtype=torch.bool, device=scores.device).scatter_(1, chosen, True)


def ema_decay(epoch: int, start: float = 0.999, end: float = 0.9999, ramp_epochs: int = 100) -> float:
    """``start + (epoch / ramp_epochs)(end − start)`` for ``epoch < ramp_epochs``, then ``end``."""
    if epoch < ramp_epochs:
        return start + epoch / ramp_epochs * (end - start)
    return end


def epoch_of_step(step: int, total_steps: int, total_epochs: int) -> int:
    """The epoch (0-based) that optimiser step ``step`` (0-based) falls in, when ``total_steps``
    steps stand for ``total_epochs`` epochs; steps past the end count as the last epoch."""
    return min(step * total_epochs // total_steps, total_epochs - 1)
