from divrec.quality import images
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk, q = snakemake, cfg["quality"]  # noqa: F821
    images.build(smk.wildcards.qdataset, smk.input[0], smk.output[0], q["image_size"],
                 q.get("max_images"), cfg["seed"])
