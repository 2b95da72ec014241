from divrec.evaluate import metrics_rule
from divrec.snake import run

run(snakemake, metrics_rule)  # noqa: F821
