from divrec.snake import run
from divrec.training.run import train_rule

run(snakemake, train_rule)  # noqa: F821
