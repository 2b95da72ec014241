from divrec.quality.train import train
from divrec.snake import run

run(snakemake, train)  # noqa: F821
