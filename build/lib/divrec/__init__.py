"""divrec: diversity vs. recognizability of one-shot generative models.

The package holds all real logic; the Snakemake workflow only calls ``python -m divrec <verb>``.
"""

__version__ = "0.1.0"
