from divrec.data.quickdraw import build_rule
from divrec.snake import run

run(snakemake, build_rule)  # noqa: F821
