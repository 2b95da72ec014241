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
        quality_targets(),
    default_target: True
