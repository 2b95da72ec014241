from divrec.plots.guidance import guidance_rule
from divrec.snake import run

run(snakemake, guidance_rule)  # noqa: F821
