"""Generative models behind a registry (``models.registry``): a new model is one file plus one
config entry."""
