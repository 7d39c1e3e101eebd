"""latentzoo-ssl: self-supervised building blocks shared by paper plugins.

- :mod:`latentzoo_ssl.augment`: batched two-view augmentations (digits, shapes) and the
  training samplers that turn ``{x, y}`` into ``{x1, x2, y}``;
- :mod:`latentzoo_ssl.losses`: the InfoNCE / NT-Xent loss (SimCLR form) and its masks;
- :mod:`latentzoo_ssl.models`: an encoder + projection-head wrapper.

Import the submodules directly; this package imports nothing heavy (plugin listing stays light).
"""
