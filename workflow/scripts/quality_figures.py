from divrec.quality.evaluate import figures_rule
from divrec.snake import run

run(snakemake, figures_rule)  # noqa: F821
