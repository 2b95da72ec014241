from divrec.diverse.run import reference_rule
from divrec.snake import run

run(snakemake, reference_rule)  # noqa: F821
