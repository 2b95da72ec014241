from divrec.diverse.run import downstream_table_from_paths
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    downstream_table_from_paths(cfg, list(snakemake.input), snakemake.output[0])  # noqa: F821
