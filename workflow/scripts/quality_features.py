from divrec.quality.evaluate import features_job
from divrec.snake import run

run(snakemake, features_job)  # noqa: F821
