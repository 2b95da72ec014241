from divrec.data import cifar10
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    c = cfg["quality"].get("cifar10") or {}
    cifar10.fetch(snakemake.output[0], c.get("local"), c.get("downloads", "data/downloads"))  # noqa: F821
