from divrec.importance import importance_rule
from divrec.snake import run

run(snakemake, importance_rule)  # noqa: F821
