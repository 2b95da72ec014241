from divrec.device import pick_device
from divrec.evaluate import evaluate_from_config
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    evaluate_from_config(cfg, smk.wildcards.model, smk.wildcards.point, smk.input, smk.output,
                         pick_device(cfg["device"]))
