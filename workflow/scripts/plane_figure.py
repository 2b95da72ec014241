from divrec.plots.plane import write_plane
from divrec.snake import rule_context

with rule_context(snakemake):  # noqa: F821
    smk = snakemake  # noqa: F821
    write_plane(smk.input.summary, smk.input.humans, [smk.output.png, smk.output.pdf])
