"""Generative models behind a registry: a new model is one file plus one config entry."""

from divrec.models.registry import MODELS, build_model, get_family, register

__all__ = ["MODELS", "build_model", "get_family", "register"]
