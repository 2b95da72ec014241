from divrec.diverse.run import downstream_rule
from divrec.snake import run

run(snakemake, downstream_rule)  # noqa: F821
