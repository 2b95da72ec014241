# Helpers shared by the rules: paths, sweep wildcards and config hashes (no lambdas in rules).
from divrec.config import model_points, split_variant
from divrec.plots.targets import figure_paths, importance_paths
from divrec.provenance import config_hash

RES = config.get("results", "results")
D = f"{RES}/{{dataset}}"  # every result lives under its dataset
RESUME = f"{RES}/.resume"
POINTS = model_points(config)  # (dataset, model, point)
DATASETS = sorted({d for d, _, _ in POINTS})


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    model="[A-Za-z0-9_]+",
    point="[A-Za-z0-9_.=~\\-]+",
    train_point="[A-Za-z0-9_.=\\-]+",
    kind="simclr|protonet",


def split_file(wildcards):
    return f"{RES}/{wildcards.dataset}/data/split.npz"


def model_hash(wildcards):
    """Rerun trigger: a job reruns when its own config fragment changes, not the whole config."""
    entry = {k: v for k, v in config["models"][wildcards.model].items()
             if k not in ("sample", "label", "datasets")}  # these never change a trained model
    return config_hash({"entry": entry,
                        "data": config["data"][wildcards.dataset],
                        "training": config.get("training"), "seed": config["seed"]})


def critic_hash(wildcards):
    return config_hash({"critic": config["critics"][wildcards.kind],
                        "data": config["data"][wildcards.dataset],
                        "training": config.get("training"), "seed": config["seed"]})


def trained_model(wildcards):
    """The checkpoint a (possibly sampler-variant) point is sampled from."""
    base = split_variant(wildcards.point)[0]
    return f"{RES}/{wildcards.dataset}/models/{wildcards.model}/{base}/model.pt"


def sample_hash(wildcards):
    return model_hash(wildcards) + config_hash(
        [config["models"][wildcards.model].get("sample"), config["evaluation"]])


def eval_hash(wildcards=None):
    return config_hash(config["evaluation"])


def point_summaries(ds):
    paths = [f"{RES}/{ds}/metrics/human/data/summary.parquet"]
    paths += [f"{RES}/{ds}/metrics/{m}/{p.name}/summary.parquet" for d, m, p in POINTS if d == ds]
    return paths


def summary_inputs(wildcards):
    return point_summaries(wildcards.dataset)


def diverse_hash(wildcards=None):
    """Diverse samples rerun trigger: the diverse section, the critic input size, the seed."""
    return config_hash({"diverse": config.get("diverse"), "seed": config["seed"],
                        "image_size": config["evaluation"]["image_size"]})


def diverse_extractor_input(wildcards):
    """The SimCLR critic when it is the DS feature extractor (SqueezeNet weights: a config path)."""
    if (config.get("diverse") or {}).get("extractor", "simclr") == "simclr":
        return {"simclr": f"{RES}/{wildcards.dataset}/critics/simclr.pt"}
    return {}


def diverse_points(ds, folder):
    return [f"{RES}/{ds}/diverse/{folder}/{m}/{p.name}.parquet" for d, m, p in POINTS if d == ds]


def diverse_summary_inputs(wildcards):
    return diverse_points(wildcards.dataset, "points")


def diverse_downstream_inputs(wildcards):
    return diverse_points(wildcards.dataset, "downstream")


def all_targets():
    """Final tables and figures, plus every point's metrics: naming the per-point tables makes a
    deleted one rerun (with its aggregate and figures) instead of being skipped as an
    intermediate file."""
    per_point = [p for ds in DATASETS for p in point_summaries(ds)]
    return per_point + [f"{RES}/{ds}/{f}" for ds in DATASETS
            for f in ("metrics/summary.parquet", "figures/plane.png", "figures/plane.pdf",
                      "diverse/summary.parquet", "diverse/downstream.parquet")] + [
        t for ds in DATASETS for t in figure_paths(config, POINTS, RES, ds)] + [
        t for ds in DATASETS for t in importance_paths(config, POINTS, RES, ds)]
