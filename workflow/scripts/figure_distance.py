from divrec.plots.distance import distance_rule
from divrec.snake import run

run(snakemake, distance_rule)  # noqa: F821
