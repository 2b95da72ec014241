from divrec.critics.reference import install_reference
from divrec.snake import run

run(snakemake, install_reference)  # noqa: F821
