from divrec.generate import human_samples
from divrec.snake import rule_context

with rule_context(snakemake):  # noqa: F821
    human_samples(snakemake.input[0]).save(snakemake.output[0])  # noqa: F821
