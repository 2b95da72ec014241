from divrec.plots.distance import write_distance
from divrec.snake import rule_context

with rule_context(snakemake):  # noqa: F821
    smk = snakemake  # noqa: F821
    write_distance(smk.input[0], [smk.output.png, smk.output.pdf], smk.wildcards.dataset)
