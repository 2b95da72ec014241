from divrec.critics.reference import install_reference
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    install_reference(cfg, smk.wildcards.kind, smk.wildcards.dataset, smk.input[0],
                      smk.output.model, smk.output.calibration)
