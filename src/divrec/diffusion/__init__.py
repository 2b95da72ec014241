"""Reusable diffusion core for the one-shot diffusion families (ddpm, cfgdm, fsdm).

schedule (noise schedules, q(x_t | x_0)), unet (exemplar/context-conditioned U-Net), samplers
(ancestral and DDIM over one denoiser, classifier-free guidance), importance (attribution maps
and their comparison with human maps), augment (``augment_class``). The model built on this core
is a model like the others: ``divrec.models.diffusion``.
"""
