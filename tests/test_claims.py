"""The claims table on hand-made metric tables whose verdicts are known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from divrec.claims import evaluate_claims, verdict

C, N = 40, 10


def _point(model, point, family, div, rec, orig=(20.0, 2.0), seed=0):
    """per_class and per_sample rows: class means near (div, rec), originality ~ N(orig)."""
    rng = np.random.default_rng(seed)
    pc = pd.DataFrame({"model": model, "point": point, "family": family,
                       "class_index": np.arange(C),
                       "diversity": div + rng.normal(0, 0.02, C),
                       "recognizability": np.clip(rec + rng.normal(0, 0.02, C), 0, 1)})
    o = rng.normal(orig[0], orig[1], (C, N))
    r = np.clip(rec + rng.normal(0, 0.05, (C, N)), 0, 1)
    ps = pd.DataFrame({"model": model, "point": point, "family": family,
                       "class_index": np.repeat(np.arange(C), N), "originality": o.ravel(),
                       "recognizability": r.ravel(), "excluded": False})
    return pc, ps


def _tables(points):
    parts = [_point(*p, seed=i) for i, p in enumerate(points)]
    return (pd.concat([a for a, _ in parts], ignore_index=True),
            pd.concat([b for _, b in parts], ignore_index=True))


PAPER_LIKE = [
    ("human", "data", "human", 0.8, 0.95, (25.0, 4.0)),
    ("dagan", "z=8", "dagan", 0.2, 0.8, (12.0, 1.0)),
    ("vae_stn", "beta=0.5", "vae_stn", 1.0, 0.30),
    ("vae_stn", "beta=1", "vae_stn", 0.8, 0.50),
    ("vae_stn", "beta=4", "vae_stn", 0.4, 0.35),
    ("vae_ns", "base", "vae_ns", 0.7, 0.80),
    ("cfgdm", "base~guidance=0", "cfgdm", 1.1, 0.3, (30.0, 5.0)),
    ("cfgdm", "base~guidance=2", "cfgdm", 0.9, 0.6, (24.0, 2.0)),
]
SETTINGS = {("vae_stn", "beta=0.5"): {"beta": 0.5}, ("vae_stn", "beta=1"): {"beta": 1.0},
            ("vae_stn", "beta=4"): {"beta": 4.0}, ("cfgdm", "base~guidance=0"): {"guidance": 0},
            ("cfgdm", "base~guidance=2"): {"guidance": 2}}


def test_paper_like_tables_give_the_paper_verdicts():
    per_class, per_sample = _tables(PAPER_LIKE)
    t = evaluate_claims(per_class, per_sample, SETTINGS, n_bins=5, min_count=5, n_boot=200,
                        n_boot_samples=50).set_index("claim")
    assert t.loc["gan_vs_vae_diversity", "verdict"] == "holds"
    assert t.loc["gan_vs_vae_diversity", "value"] == pytest.approx(
        np.mean([1.0, 0.8, 0.4, 0.7]) - 0.2, abs=0.02)
    assert t.loc["gan_vs_vae_recognizability", "verdict"] == "holds"
    assert t.loc["beta_curve:vae_stn", "verdict"] == "holds"  # 0.30 -> 0.50 -> 0.35
    assert t.loc["beta_curve:vae_ns", "verdict"] == "not enough points"
    assert t.loc["vae_ns_closest", "verdict"] == "holds"
    assert t.loc["guidance:cfgdm:recognizability", "verdict"] == "holds"
    assert t.loc["guidance:cfgdm:originality_range", "verdict"] == "holds"  # sd 5 -> 2
    assert t.loc["human_curve_above", "verdict"] == "holds"
    assert t.loc["diffusion_closer", "verdict"] == "does not hold"  # VAE-NS is closer
    measured = t.dropna(subset=["lo"])
    assert len(measured) == 8 and (measured.lo <= measured.hi).all()


def test_a_monotone_beta_sweep_is_not_an_inverted_u():
    pts = [p if p[1] != "beta=1" else ("vae_stn", "beta=1", "vae_stn", 0.8, 0.28)
           for p in PAPER_LIKE]
    per_class, per_sample = _tables(pts)
    t = evaluate_claims(per_class, per_sample, SETTINGS, n_bins=5, min_count=5, n_boot=200,
                        n_boot_samples=20).set_index("claim")
    assert t.loc["beta_curve:vae_stn", "verdict"] == "does not hold"  # a U, not an inverted U


def test_missing_families_say_not_enough_points():
    per_class, per_sample = _tables([PAPER_LIKE[0], PAPER_LIKE[-1]])
    t = evaluate_claims(per_class, per_sample, SETTINGS, n_boot=50,
                        n_boot_samples=10).set_index("claim")
    for claim in ("gan_vs_vae_diversity", "vae_ns_closest", "diffusion_closer",
                  "guidance:cfgdm:recognizability"):
        assert t.loc[claim, "verdict"] == "not enough points", claim


def test_verdict_reads_the_interval():
    assert verdict(0.1, 0.3) == "holds" and verdict(-0.3, -0.1) == "does not hold"
    assert verdict(-0.1, 0.1) == "inconclusive" and verdict(-0.3, -0.1, False) == "holds"


def _claims_table(rows):
    """A claims table as the rule writes it: (claim, value, lo, hi, verdict) rows."""
    return pd.DataFrame([{"dataset": "omniglot", "claim": c, "statement": f"{c} statement",
                          "statistic": "s", "value": v, "lo": lo, "hi": hi, "verdict": vd,
                          "evidence": ""} for c, v, lo, hi, vd in rows])


def test_across_runs_puts_runs_side_by_side_and_counts_holds():
    from divrec.claims import across_runs

    nan = float("nan")
    a = _claims_table([("gan", 0.06, 0.01, 0.12, "holds"), ("beta", nan, nan, nan,
                                                              "not enough points"),
                       ("ns", 0.03, -0.02, 0.08, "inconclusive")])
    b = _claims_table([("gan", 0.04, -0.02, 0.09, "inconclusive"), ("beta", -0.6, -0.8, -0.4,
                                                                   "holds"),
                       ("ns", 0.05, 0.01, 0.09, "holds")])
    t = across_runs({"results": a, "results1": b}).set_index("claim")
    assert list(t.columns) == ["dataset", "statement", "results", "results1", "holds"]
    assert t.loc["gan", "results"] == "0.060 [0.010, 0.120] holds"
    assert t.loc["gan", "results1"] == "0.040 [-0.020, 0.090] inconclusive"
    assert t.loc["beta", "results"] == "— not enough points"
    # untested runs do not count: beta was testable in one run and held there
    assert t["holds"].to_dict() == {"gan": "1 of 2", "beta": "1 of 1", "ns": "1 of 2"}


def test_claims_cli_reads_each_results_folder(tmp_path, capsys):
    from divrec.cli import main

    for run, value in (("r0", 0.06), ("r1", -0.05)):
        (tmp_path / run / "omniglot").mkdir(parents=True)
        verdict_ = "holds" if value > 0 else "does not hold"
        _claims_table([("gan", value, value - 0.01, value + 0.01, verdict_)]).to_parquet(
            tmp_path / run / "omniglot" / "claims.parquet")
    assert main(["claims", str(tmp_path / "r0"), str(tmp_path / "r1")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"| statement | {tmp_path / 'r0'} | {tmp_path / 'r1'} | holds |"
    assert lines[2] == ("| gan statement | 0.060 [0.050, 0.070] holds | "
                        "-0.050 [-0.060, -0.040] does not hold | 1 of 2 |")
    assert main(["claims", str(tmp_path / "r0"), str(tmp_path / "missing")]) == 2
    assert "no claims table at" in capsys.readouterr().err
