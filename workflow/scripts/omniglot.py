from divrec.data import omniglot
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    om = cfg["data"]["omniglot"]
    omniglot.fetch(snakemake.output[0], om.get("mirror"), om.get("downloads", "data/downloads"))  # noqa: F821
