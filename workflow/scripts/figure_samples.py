from divrec.plots import point_label
from divrec.plots.grids import write_sample_grid
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    w, fig = smk.wildcards, cfg["figures"]
    label = cfg["models"].get(w.model, {}).get("label", "humans" if w.model == "human" else w.model)
    write_sample_grid(smk.input[0], [smk.output[0]], f"{w.dataset}: {point_label(label, w.point)}",
                      fig["grid_classes"], fig["grid_samples"])
