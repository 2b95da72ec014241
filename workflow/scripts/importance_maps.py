from divrec.importance import checkpoint_maps, importance_table
from divrec.io import save_parquet
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    imp = cfg["importance"]
    maps, meta = checkpoint_maps(smk.input.model, smk.input.split, imp["n_t"], imp["n_noise"],
                                 cfg["seed"], cfg["device"])
    maps.save(smk.output.maps, meta)
    table = importance_table(maps, imp["threshold"], smk.input.get("human"), imp["blur_sigma"])
    save_parquet(table, smk.output.table, meta)
