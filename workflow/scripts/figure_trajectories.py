from divrec.plots.trajectories import write_trajectories
from divrec.snake import rule_context

with rule_context(snakemake) as cfg:  # noqa: F821
    smk = snakemake  # noqa: F821
    model = smk.wildcards.model
    write_trajectories(smk.input[0], model, cfg["models"][model], [smk.output.png, smk.output.pdf])
