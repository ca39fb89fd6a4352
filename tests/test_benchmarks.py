"""Tests of the benchmark loaders against facts the benchmarks publish."""

import numpy as np
import pytest
from scipy import stats

from nascourse import benchmarks
from nascourse.spaces import darts, nb201


def test_nb201_tables_have_every_cell_in_index_order():
    for dataset in benchmarks.NB201_DATASETS:
        t = benchmarks.load_nb201(dataset)
        assert len(t) == 15625 and list(t.index[:3]) == [0, 1, 2] and t.index.is_monotonic_increasing
        assert {"arch_str", "unique_str", "test_acc"} <= set(t.columns)
    c10 = benchmarks.load_nb201("cifar10")
    assert {"val_acc", "params"} <= set(c10.columns)
    assert c10.loc[nb201.Cell.from_str(c10.loc[77, "arch_str"]).index, "arch_str"] == c10.loc[77, "arch_str"]


@pytest.mark.parametrize("dataset, best", [("cifar10", 94.37), ("cifar100", 73.51), ("ImageNet16-120", 47.31)])
def test_nb201_optimum_matches_the_published_one(dataset, best):
    assert round(benchmarks.load_nb201(dataset)["test_acc"].max(), 2) == best


def test_cifar10_validation_selects_near_the_optimum():
    t = benchmarks.load_nb201("cifar10")
    assert round(t["val_acc"].max(), 2) == 91.61
    assert t.loc[t["val_acc"].idxmax(), "test_acc"] > 94.0


def test_loaders_return_copies():
    t = benchmarks.load_nb201("cifar10")
    t["test_acc"] = 0.0
    assert benchmarks.load_nb201("cifar10")["test_acc"].max() > 90
    z = benchmarks.load_zc_proxies("cifar10")
    z["jacov"] = 0.0
    assert benchmarks.load_zc_proxies("cifar10")["jacov"].abs().max() > 0


@pytest.mark.parametrize("proxy, rho", [("jacov", 0.818), ("nwot", 0.792), ("params", 0.747),
                                        ("synflow", 0.732), ("flops", 0.714), ("zen", 0.101)])
def test_proxy_correlations_match_the_published_values(proxy, rho):
    z = benchmarks.load_zc_proxies("cifar10")
    assert len(z) == 9445 and set(benchmarks.ZC_PROXIES) <= set(z.columns)
    assert stats.spearmanr(z[proxy], z["val_acc"])[0] == pytest.approx(rho, abs=0.002)


def test_imagenet_proxies_cover_the_same_cells():
    a, b = benchmarks.load_zc_proxies("cifar10"), benchmarks.load_zc_proxies("ImageNet16-120")
    assert (a.index == b.index).all()
    assert not np.allclose(a["val_acc"], b["val_acc"])


def test_naswot_score_correlation_matches_its_paper_table():
    t = benchmarks.load_nb201("cifar10").dropna(subset=["naswot_score"])
    assert len(t) == 15284
    assert stats.kendalltau(t["naswot_score"], t["val_acc"])[0] == pytest.approx(0.569, abs=0.002)


def test_hw_robustness_and_embeddings():
    for dataset in benchmarks.NB201_DATASETS:
        hw = benchmarks.load_hw(dataset)
        assert hw.shape == (15625, 10) and list(hw.columns) == list(benchmarks.HW_METRICS)
    assert not np.allclose(benchmarks.load_hw("cifar10")["pixel3_latency"], benchmarks.load_hw("ImageNet16-120")["pixel3_latency"])
    rob = benchmarks.load_robustness()
    assert rob.shape == (15625, 33) and "fgsm@Linf_eps-8.0" in rob
    assert (rob["fgsm@Linf_eps-8.0"] <= rob["val_acc"] + 1e-9).mean() > 0.99
    a2v = benchmarks.load_arch2vec()
    assert a2v.shape == (9445, 16) and (a2v.index == benchmarks.load_zc_proxies().index).all()


def test_transnas_and_nb101_samples():
    tnb = benchmarks.load_tnb101_micro()
    assert len(tnb) == 2128 and tnb["net"].str.fullmatch(r"[0-3]{6}").all() and tnb["net"].is_unique
    nb101 = benchmarks.load_nb101_sample()
    assert len(nb101) == 500
    assert all(m.shape == (len(o), len(o)) and o[0] == "input" and o[-1] == "output"
               for m, o in zip(nb101["matrix"], nb101["ops"]))
    assert nb101["val_acc"].between(10, 100).all()


def test_nb301_sample_parses_into_distinct_darts_genotypes():
    nb301 = benchmarks.load_nb301()
    assert len(nb301) == 500
    assert list(nb301.columns) == ["genotype", "val_acc", "flops", "params", *benchmarks.NB301_PROXIES]
    genotypes = [darts.from_compact(s) for s in nb301["genotype"]]
    assert all(isinstance(g, darts.Genotype) for g in genotypes)
    assert len({(g.normal.canonical(), g.reduce.canonical()) for g in genotypes}) == 500
    # the first entry of NASLib's file, copied by hand from its JSON
    first = nb301.iloc[0]
    assert first["genotype"].startswith("[[(0, 4), (1, 3), (0, 2), (2, 3)")
    assert genotypes[0].normal.inputs(0) == (("sep_conv_5x5", 0), ("sep_conv_3x3", 1))
    assert (round(first["val_acc"], 4), first["params"], first["flops"]) == (93.9011, 1.204906, 202.774016)
    # NAS-Bench-301's CIFAR-10 accuracies of DARTS-space cells lie in a narrow high band;
    # the NASLib network of 32-128 channels has about a million parameters
    assert nb301["val_acc"].between(85, 95).all() and nb301["val_acc"].std() < 2
    assert nb301["params"].between(0.3, 2).all() and nb301["flops"].between(50, 400).all()
    assert np.isfinite(nb301[list(benchmarks.NB301_PROXIES)].to_numpy()).all()
    nb301["val_acc"] = 0.0
    assert benchmarks.load_nb301()["val_acc"].min() > 85


@pytest.mark.parametrize("loader, bad", [(benchmarks.load_nb201, "imagenet"), (benchmarks.load_nb201, "CIFAR10"),
                                         (benchmarks.load_zc_proxies, "cifar100"), (benchmarks.load_hw, "svhn")])
def test_unknown_dataset_names_the_valid_choices(loader, bad):
    with pytest.raises(ValueError, match=rf"unknown dataset '{bad}'; valid choices are \['cifar10'"):
        loader(bad)


def test_dataset_must_be_a_string():
    with pytest.raises(TypeError, match="dataset must be a str"):
        benchmarks.load_nb201(10)


def test_old_module_name_is_the_same_module():
    import nascourse
    from nascourse import bench

    assert bench is benchmarks is nascourse.bench
    assert bench.load_nb201 is benchmarks.load_nb201
    assert "nascourse.image_data" in benchmarks.__doc__ and "nascourse.data" in benchmarks.__doc__


def test_hw_placeholders_are_missing_values():
    """HW-NAS-Bench's -1 (no edge-TPU latency: not compiled) comes back as NaN, nowhere else."""
    for dataset in ("cifar10", "ImageNet16-120"):
        hw = benchmarks.load_hw(dataset)
        missing = hw.isna()
        assert missing.sum().drop("edgetpu_latency").eq(0).all()
        assert missing["edgetpu_latency"].sum() == 4699 and (hw.min() > 0).all()
    raw = benchmarks._hw()
    assert (raw.drop(columns=["index", "dataset"]) == -1).sum().sum() == 3 * 4699
