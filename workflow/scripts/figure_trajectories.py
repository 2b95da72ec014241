from divrec.plots.trajectories import trajectories_rule
from divrec.snake import run

run(snakemake, trajectories_rule)  # noqa: F821
