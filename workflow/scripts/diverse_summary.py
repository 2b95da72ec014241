from divrec.diverse.run import summary_rule
from divrec.snake import run

run(snakemake, summary_rule)  # noqa: F821
