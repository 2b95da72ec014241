from divrec.diverse.run import downstream_table_rule
from divrec.snake import run

run(snakemake, downstream_table_rule)  # noqa: F821
