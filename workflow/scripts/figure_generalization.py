from divrec.plots.generalization import write_generalization
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    fig, ev = cfg["figures"], cfg["evaluation"]
    write_generalization(list(smk.input), [smk.output.png, smk.output.pdf], smk.output.table,
                         fig["generalization_bins"], fig["min_bin_count"], ev["bootstrap"],
                         ev["ci"], cfg["seed"], smk.wildcards.dataset)
