from divrec.claims import claims_rule
from divrec.snake import run

run(snakemake, claims_rule)  # noqa: F821
