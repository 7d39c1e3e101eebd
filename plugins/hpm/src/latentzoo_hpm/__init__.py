"""latentzoo-hpm: Hard Patches Mining for masked image modeling (arXiv 2312.13714, CVPR 2023 2304.05919).

Modules: ``model`` (MAE ViT with a loss predictor), ``losses`` (reconstruction, relative and MSE
loss prediction, the HPM objective with its EMA teacher), ``schedule`` (hard-patch masks,
easy-to-hard and EMA schedules), ``metrics`` (rank accuracy, mask hardness). Kept light: this
package is imported when plugins are listed.
"""
