from divrec.data import quickdraw
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    q = cfg["data"]["quickdraw"]
    quickdraw.build(snakemake.input[0], snakemake.output[0], q["clusters_per_category"],  # noqa: F821
                    q["min_cluster_size"], q["per_class"], q["image_size"], q["binarize"],
                    q["val_fraction"], q["test_fraction"], cfg["seed"], q["pca_dim"],
                    q["blur_sigma"])
