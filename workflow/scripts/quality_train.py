from divrec.quality.train import train
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    train(cfg, smk.wildcards.qdataset, smk.wildcards.qmodel, smk.input[0], smk.output.model,
          smk.output.history, smk.params.state_dir)
