from divrec.data.splits import build_rule
from divrec.snake import run

run(snakemake, build_rule)  # noqa: F821
