from divrec.quality.sample import sample_model
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    sample_model(cfg, smk.wildcards.qdataset, smk.wildcards.qmodel, smk.input[0],
                 smk.output.samples, smk.output.timing)
