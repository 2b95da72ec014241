"""divrec: diversity vs. recognizability of one-shot generative models."""

__version__ = "0.1.0"
