# Helpers shared by the rules: paths, sweep wildcards and config hashes (no lambdas in rules).
import json

from divrec.config import expand_sweep, model_points
from divrec.provenance import config_hash

RES = config.get("results", "results")
SPLIT = f"{RES}/data/omniglot_{config['data']['split']}.npz"
RESUME = f"{RES}/.resume"
POINTS = model_points(config)


wildcard_constraints:
    model="[A-Za-z0-9_]+",
    point="[A-Za-z0-9_.=\\-]+",
    kind="simclr|protonet",


def model_hash(wildcards):
    """Rerun trigger: a job reruns when its own config fragment changes, not the whole config."""
    entry = config["models"][wildcards.model]
    return config_hash({"entry": entry, "training": config.get("training"), "seed": config["seed"]})


def critic_hash(wildcards):
    return config_hash({"critic": config["critics"][wildcards.kind],
                        "training": config.get("training"), "seed": config["seed"]})


def eval_hash(wildcards=None):
    return config_hash(config["evaluation"])


def summary_inputs(wildcards=None):
    paths = [f"{RES}/metrics/human/data/summary.parquet"]
    paths += [f"{RES}/metrics/{m}/{p.name}/summary.parquet" for m, p in POINTS]
    return paths


def all_targets():
    return [
        f"{RES}/metrics/summary.parquet",
        f"{RES}/figures/plane.png",
        f"{RES}/figures/plane.pdf",
    ]
