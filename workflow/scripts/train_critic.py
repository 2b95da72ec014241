from divrec.critics.train import train_critic_rule
from divrec.snake import run

run(snakemake, train_critic_rule)  # noqa: F821
