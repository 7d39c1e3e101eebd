"""SIGN: Score-based Idempotent Distillation of Diffusion Models (Zaman, Liu, Chiu 2025, arXiv 2509.21470).

Modules: ``models`` (the time-free idempotent network f), ``losses`` (IGN's L_rec, L_idem,
L_tight and SIGN's score-based terms, composed into the training objectives), ``samplers``
(multi-step idempotent sampling, repeated application), ``metrics`` (idempotence error,
predicted-class entropy of generated digits).
"""
