from divrec.data import splits
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    d = cfg["data"]["omniglot"]
    splits.build(snakemake.input[0], snakemake.output[0], d["split"], d["image_size"],  # noqa: F821
                 d["val_fraction"], d["exemplar"], cfg["seed"], d.get("max_train_classes"),
                 d.get("test_alphabets"), d.get("max_test_classes"))
