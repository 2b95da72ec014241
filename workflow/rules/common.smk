# Helpers shared by the rules: paths, sweep wildcards and config hashes (no lambdas in rules).
from divrec.config import for_dataset
from divrec.points import model_points, resolve_point
from divrec.quality.features import resolve_extractor
from divrec.paths import HUMAN, Layout
from divrec.plots.targets import figure_paths, importance_paths
from divrec.provenance import config_hash

RES = config.get("results", "results")
L = Layout(RES)  # every shared path (divrec/paths.py); logs and benchmarks stay in their rules
DS = "{dataset}"  # every result lives under its dataset
RESUME = L.resume()
POINTS = model_points(config)  # divrec.points.Point: dataset, model, name, params, sample
DATASETS = sorted({p.dataset for p in POINTS})


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    model="[A-Za-z0-9_]+",
    point="[A-Za-z0-9_.=~\\-]+",
    train_point="[A-Za-z0-9_.=\\-]+",
    kind="simclr|protonet",


def split_file(wildcards):
    return L.split(wildcards.dataset)


def model_hash(wildcards):
    """Rerun trigger of one trained point: its own resolved params and the entry's training
    settings, not the sweep list (changing one sweep value retrains exactly the points whose
    params changed) nor sampling, label and datasets (they never change a trained model)."""
    name = getattr(wildcards, "train_point", None) or wildcards.point
    point = resolve_point(config, wildcards.dataset, wildcards.model, name)
    entry = {k: v for k, v in for_dataset(config, wildcards.dataset)["models"][wildcards.model]
             .items() if k not in ("sample", "label", "datasets", "sweep", "params")}
    return config_hash({"entry": entry, "params": point.params,
                        "data": config["data"][wildcards.dataset],
                        "precision": config.get("precision", "auto"),
                        "training": config.get("training"), "seed": config["seed"]})


def critic_hash(wildcards):
    critic = for_dataset(config, wildcards.dataset)["critics"][wildcards.kind]
    return config_hash({"critic": critic,
                        "precision": config.get("precision", "auto"),
                        "data": config["data"][wildcards.dataset],
                        "training": config.get("training"), "seed": config["seed"]})


def trained_model(wildcards):
    """The checkpoint a (possibly sampler-variant) point is sampled from."""
    point = resolve_point(config, wildcards.dataset, wildcards.model, wildcards.point)
    return L.model(wildcards.dataset, wildcards.model, point.train_name)


def sample_hash(wildcards):
    point = resolve_point(config, wildcards.dataset, wildcards.model, wildcards.point)
    return model_hash(wildcards) + config_hash([point.sample, config["evaluation"]])


def eval_hash(wildcards=None):
    return config_hash(config["evaluation"])


def point_summaries(ds):
    pairs = [HUMAN] + [(p.model, p.name) for p in POINTS if p.dataset == ds]
    return [L.metrics(ds, m, p) for m, p in pairs]


def summary_inputs(wildcards):
    return point_summaries(wildcards.dataset)


def diverse_hash(wildcards=None):
    """Diverse samples rerun trigger: the diverse section, the critic input size, the seed, the
    training precision (the downstream classifiers train under it)."""
    return config_hash({"diverse": config.get("diverse"), "seed": config["seed"],
                        "image_size": config["evaluation"]["image_size"],
                        "precision": [config.get("precision"),
                                      (config.get("training") or {}).get("precision")]})


def diverse_extractor_input(wildcards):
    """The SimCLR critic when it is the DS feature extractor (SqueezeNet weights: a config path)."""
    if (config.get("diverse") or {}).get("extractor", "simclr") == "simclr":
        return {"simclr": L.critic(wildcards.dataset, "simclr")}
    return {}


def diverse_points(ds, folder):
    return [L.diverse(ds, f"{folder}/{p.model}/{p.name}.parquet") for p in POINTS
            if p.dataset == ds]


def diverse_summary_inputs(wildcards):
    return diverse_points(wildcards.dataset, "points")


def diverse_downstream_inputs(wildcards):
    return diverse_points(wildcards.dataset, "downstream")


STAGES = config.get("stages") or {}  # schema defaults: every stage on


def stage_targets(stage):
    """Final outputs of one stage for every dataset (the named target rules of the Snakefile)."""
    if stage == "critics":
        return [L.calibration(ds) for ds in DATASETS]
    if stage == "metrics":
        return [p for ds in DATASETS for p in point_summaries(ds)] + [
            f(ds) for ds in DATASETS for f in (L.summary, L.claims)]
    if stage == "figures":
        return [L.figures(ds, f) for ds in DATASETS for f in ("plane.png", "plane.pdf")] + [
            t for ds in DATASETS for t in figure_paths(config, POINTS, RES, ds)]
    if stage == "diverse":
        return [L.diverse(ds, f) for ds in DATASETS
                for f in ("summary.parquet", "downstream.parquet")]
    if stage == "importance":
        return [t for ds in DATASETS for t in importance_paths(config, POINTS, RES, ds)]
    if stage == "quality":
        return quality_targets()
    raise ValueError(f"unknown stage {stage}")


def all_targets():
    """Final tables and figures of every stage switched on (``stages:``), plus every point's
    metrics: naming the per-point tables makes a deleted one rerun (with its aggregate and
    figures) instead of being skipped as an intermediate file."""
    stages = ["critics", "metrics", "figures", "diverse", "importance", "quality"]
    return [t for st in stages if STAGES.get(st, True) for t in stage_targets(st)]


# ----------------------------------------------------------- importance maps (importance.smk)
def importance_hash(wildcards=None):
    """Rerun trigger of the maps: every setting but the figure's and the list of entries."""
    return config_hash({k: v for k, v in config["importance"].items()
                        if k not in ("categories", "models")})


def importance_figure_hash(wildcards=None):
    return config_hash(config["importance"]["categories"])


def human_maps_input(wildcards):
    """A user's human map array (e.g. ClickMe) for this dataset, when the config names one."""
    path = config["importance"]["human_maps"].get(wildcards.dataset)
    return {"human": path} if path else {}


# ------------------------------------------------ GAN vs diffusion quality (quality.smk)
Q = config.get("quality") or {}
QRES = L.quality()
QD = f"{QRES}/{{qdataset}}"
QMODELS = list(Q.get("models") or {})


def quality_source(wildcards):
    """CIFAR-10 arrays, or the split file of one of the workflow's few-shot datasets."""
    if wildcards.qdataset == "cifar10":
        return f"{QRES}/cifar10/data/cifar10.npz"
    return L.split(wildcards.qdataset)


def quality_extractor(dataset):
    choice = Q.get("feature_extractor", "auto")
    return resolve_extractor(choice, dataset, Q.get("inception_weights"))


def quality_hash(wildcards):
    """Rerun trigger of a model: its entry, the image set's settings, the loop defaults, seed."""
    return config_hash({"entry": Q["models"][wildcards.qmodel], "seed": config["seed"],
                        "training": config.get("training"),
                        "images": [Q.get("image_size"), Q.get("max_images")]})


def quality_metrics_inputs(wildcards):
    ds, ex = wildcards.qdataset, quality_extractor(wildcards.qdataset)
    return {
        "data": f"{QRES}/{ds}/features/{ex}/data.npz",
        "features": [f"{QRES}/{ds}/features/{ex}/models/{m}.npz" for m in QMODELS],
        "timings": [f"{QRES}/{ds}/samples/{m}.timing.json" for m in QMODELS],
    }


def quality_targets():
    return [f"{QRES}/{ds}/{f}" for ds in Q.get("datasets", [])
            for f in ("metrics.parquet", "figures/tradeoff.png", "figures/samples.png",
                      "figures/losses.png")]
