from divrec.quality import plots
from divrec.quality.evaluate import reference_images
from divrec.quality.sample import load_samples
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk, q = snakemake, cfg["quality"]  # noqa: F821
    models, labels = smk.params.models, smk.params.labels
    panels = {"data": reference_images(smk.input.images, 64, cfg["seed"] + 1)}
    panels.update({m: load_samples(p) for m, p in zip(models, smk.input.samples)})
    plots.sample_grids(panels, {"data": f"data ({smk.wildcards.qdataset})", **labels},
                       [smk.output.grids])
    plots.tradeoff(smk.input.metrics, [smk.output.tradeoff, smk.output.tradeoff_pdf])
    plots.loss_curves(dict(zip(models, smk.input.histories)), labels, [smk.output.losses])
