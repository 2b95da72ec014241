from divrec.data.quickdraw import fetch_rule
from divrec.snake import run

run(snakemake, fetch_rule)  # noqa: F821
