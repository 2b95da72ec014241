from divrec.data.cifar10 import fetch_rule
from divrec.snake import run

run(snakemake, fetch_rule)  # noqa: F821
