# divrec: diversity vs. recognizability of one-shot generative models.
#   snakemake --cores 8 --resources gpu=4          (local)
#   snakemake --profile profiles/slurm              (cluster)
# The rules are thin: each calls one function of the divrec package (python -m divrec <verb>).

import sys

from snakemake.utils import min_version

from divrec.config import validate
from divrec.errors import ConfigError

min_version("8.0")


configfile: "config/config.yaml"


try:  # one line naming the key (snakemake's own validate prints the whole schema)
    validate(config)
except ConfigError as e:
    sys.exit(f"divrec: config error: {e}")


onstart:
    from divrec.device import cpu_precision_note

    if note := cpu_precision_note(config.get("precision", "auto")):
        print(note, file=sys.stderr)


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/quickdraw.smk"
include: "workflow/rules/critics.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/quality.smk"
include: "workflow/rules/diverse.smk"
include: "workflow/rules/importance.smk"


rule all:
    input:
        all_targets(),
    default_target: True


rule critics:
    """Only the critics (both kinds, every dataset) and their calibration tables."""
    input:
        stage_targets("critics"),


rule metrics_all:
    """Every point's metrics, the summary tables and the claims (no figures, no DS)."""
    input:
        stage_targets("metrics"),


rule figures:
    """Every figure of every dataset."""
    input:
        stage_targets("figures"),


rule diverse:
    """Only the diverse-samples analyses."""
    input:
        stage_targets("diverse"),


rule importance:
    """Only the importance maps and their figures."""
    input:
        stage_targets("importance"),
