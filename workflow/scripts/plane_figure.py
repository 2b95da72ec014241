from divrec.plots.plane import plane_rule
from divrec.snake import run

run(snakemake, plane_rule)  # noqa: F821
