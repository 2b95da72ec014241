from divrec.generate import sample_checkpoint
from divrec.points import resolve_point
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk, w = snakemake, snakemake.wildcards  # noqa: F821
    ev, pt = cfg["evaluation"], resolve_point(cfg, w.dataset, w.model, w.point)
    ss = sample_checkpoint(smk.input.model, smk.input.split, ev["n_samples"], cfg["seed"],
                           cfg["device"], ev["sample_batch"], precision=cfg["precision"],
                           **pt.sample)
    ss.save(smk.output[0])
