from divrec.plots.grids import grid_rule
from divrec.snake import run

run(snakemake, grid_rule)  # noqa: F821
