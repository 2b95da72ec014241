from divrec.data import quickdraw
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    q = cfg["data"]["quickdraw"]
    quickdraw.fetch(snakemake.output[0], q["categories"], q.get("max_per_category"),  # noqa: F821
                    q.get("mirror"), q["downloads"], q.get("base_url", quickdraw.BASE_URL))
