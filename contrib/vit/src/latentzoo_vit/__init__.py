"""latentzoo-vit: a small Vision Transformer and MAE-style patch masking for latentzoo plugins.

Import from the modules (this package is imported when plugins are listed, so it stays light):
``latentzoo_vit.vit`` (``ViT``, ``Transformer``, ``Block``, ``patchify``, ``sincos_pos_embed_2d``)
and ``latentzoo_vit.masking`` (``random_masking``, ``mask_from_bool``, ``natural_order``, ...).
"""
