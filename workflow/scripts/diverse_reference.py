from divrec.device import pick_device
from divrec.diverse.run import reference_from_config
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    reference_from_config(cfg, smk.input.split, getattr(smk.input, "simclr", None), smk.output[0],
                          pick_device(cfg["device"]), smk.threads)
