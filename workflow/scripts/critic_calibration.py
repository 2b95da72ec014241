from divrec.critics.calibration import calibration_rule
from divrec.snake import run

run(snakemake, calibration_rule)  # noqa: F821
