from divrec.generate import human_samples
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    human_samples(smk.input[0], n=cfg["evaluation"]["n_samples"]).save(smk.output[0])
