from divrec.plots.importance import write_importance
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    w = smk.wildcards
    label = cfg["models"].get(w.model, {}).get("label", w.model)
    write_importance(smk.input[0], [smk.output.png, smk.output.pdf],
                     f"{w.dataset}: {label} {w.train_point}, importance maps",
                     cfg["importance"]["categories"])
