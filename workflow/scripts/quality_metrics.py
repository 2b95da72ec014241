from divrec.quality.evaluate import metrics_table
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    models = smk.params.models
    metrics_table(cfg, smk.wildcards.qdataset, smk.input.data,
                  dict(zip(models, smk.input.features)), dict(zip(models, smk.input.timings)),
                  smk.output[0])
