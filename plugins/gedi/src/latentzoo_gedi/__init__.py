"""latentzoo-gedi: GEDI, self-supervised clustering and energy-based models (arXiv 2401.00873).

- :mod:`latentzoo_gedi.objectives`: L_PRIOR, L_INV, the energy, SGLD with a replay buffer, and
  the GEDI loss module (and its ablations);
- :mod:`latentzoo_gedi.models`: backbone + projector whose logits f(x)/τ are both the cluster
  posterior and the energy;
- :mod:`latentzoo_gedi.data`: moons / circles and the Gaussian two-view sampler of the toys;
- :mod:`latentzoo_gedi.metrics`: NMI/ARI, cluster usage, energy OOD AUROC, k-means reference.
"""
