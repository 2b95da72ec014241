from divrec.quality.evaluate import extractor_job
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    extractor_job(cfg, smk.wildcards.extractor, smk.input[0], smk.output[0], smk.params.state_dir)
