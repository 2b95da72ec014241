from divrec.quality.evaluate import extractor_job
from divrec.snake import run

run(snakemake, extractor_job)  # noqa: F821
