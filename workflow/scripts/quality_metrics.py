from divrec.quality.evaluate import metrics_table
from divrec.snake import run

run(snakemake, metrics_table)  # noqa: F821
