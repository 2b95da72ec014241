from divrec.diverse.run import summary_from_paths
from divrec.snake import rule_context

with rule_context(snakemake):  # noqa: F821
    summary_from_paths(list(snakemake.input), snakemake.output[0])  # noqa: F821
