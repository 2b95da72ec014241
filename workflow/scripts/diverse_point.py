from divrec.diverse.run import point_rule
from divrec.snake import run

run(snakemake, point_rule)  # noqa: F821
