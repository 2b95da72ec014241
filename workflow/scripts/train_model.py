from divrec.snake import rule_context
from divrec.training.run import train_model

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    w = smk.wildcards
    train_model(cfg, w.dataset, w.model, w.train_point, smk.input[0], smk.output.model,
                smk.output.history, smk.params.state_dir)
