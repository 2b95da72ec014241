from divrec.claims import write_claims
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    write_claims(cfg, smk.wildcards.dataset, list(smk.input), smk.output[0])
