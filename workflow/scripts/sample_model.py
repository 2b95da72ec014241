from divrec.config import sample_options
from divrec.generate import sample_checkpoint
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    ev, entry = cfg["evaluation"], cfg["models"][smk.wildcards.model]
    ss = sample_checkpoint(smk.input.model, smk.input.split, ev["n_samples"], cfg["seed"],
                           cfg["device"], ev["sample_batch"], precision=cfg["precision"],
                           **sample_options(entry, smk.wildcards.point))
    ss.save(smk.output[0])
