from divrec.device import pick_device
from divrec.diverse.run import point_from_config
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    w = smk.wildcards
    point_from_config(cfg, w.dataset, w.model, w.point, smk.input, smk.output,
                      pick_device(cfg["device"]), smk.threads)
