from divrec.plots.generalization import generalization_rule
from divrec.snake import run

run(snakemake, generalization_rule)  # noqa: F821
