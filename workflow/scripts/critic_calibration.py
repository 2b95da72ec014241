import pandas as pd

from divrec.io import save_parquet
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    from divrec.provenance import provenance

    meta = provenance({"inputs": list(snakemake.input)}, cfg["seed"], "cpu")  # noqa: F821
    table = pd.concat([pd.read_parquet(p) for p in snakemake.input], ignore_index=True)  # noqa: F821
    save_parquet(table, snakemake.output[0], meta)  # noqa: F821
