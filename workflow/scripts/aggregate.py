from divrec.aggregate import aggregate_rule
from divrec.snake import run

run(snakemake, aggregate_rule)  # noqa: F821
