from divrec.generate import sample_rule
from divrec.snake import run

run(snakemake, sample_rule)  # noqa: F821
