from divrec.critics.train import train_critic
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    train_critic(cfg, smk.wildcards.kind, smk.wildcards.dataset, smk.input[0], smk.output.model,
                 smk.output.history, smk.params.state_dir, smk.output.calibration)
