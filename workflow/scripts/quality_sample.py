from divrec.quality.sample import sample_model
from divrec.snake import run

run(snakemake, sample_model)  # noqa: F821
