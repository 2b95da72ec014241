from divrec.generate import humans_rule
from divrec.snake import run

run(snakemake, humans_rule)  # noqa: F821
