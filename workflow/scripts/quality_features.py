from divrec.quality.evaluate import features_job
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    features_job(cfg, smk.params.source, smk.input.images, smk.input.extractor, smk.output[0])
