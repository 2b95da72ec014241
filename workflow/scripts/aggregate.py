from divrec.aggregate import aggregate
from divrec.io import save_parquet
from divrec.snake import rule_context

with rule_context(snakemake):  # noqa: F821
    save_parquet(aggregate(list(snakemake.input)), snakemake.output[0])  # noqa: F821
