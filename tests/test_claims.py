"""Claims tests: the numbers the chapters' prose relies on, asserted on results/*.json.

The notebooks write these files when they run (`make notebooks`, or `make test`, which runs them
once before pytest). Without the files these tests are skipped, unless PTLIB_REQUIRE_RESULTS=1
(set by `make test` and CI), where a missing file is a failure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(os.environ.get("PTLIB_RESULTS_DIR") or ROOT / "results")
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: Every notebook's default parameters must finish within this budget on 2 CPU cores.
CPU_BUDGET_S = 300

pytestmark = pytest.mark.claims


def _load(stem: str) -> dict:
    path = RESULTS / f"{stem}.json"
    if not path.exists():
        msg = f"{path} is missing: run `make notebooks` (or tools/run_notebooks.py {stem})"
        if os.environ.get("PTLIB_REQUIRE_RESULTS") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_every_notebook_recorded_its_runtime_within_budget(stem: str):
    data = _load(stem)
    assert "runtime_s" in data, f"{stem} did not reach results.finish()"
    assert 0 < data["runtime_s"] <= CPU_BUDGET_S


def test_timings_table_covers_every_notebook():
    path = RESULTS / "_timings.json"
    if not path.exists():
        _load("_timings")  # skips or fails with the standard message
    timings = json.loads(path.read_text())
    assert set(NOTEBOOKS) <= set(timings), f"missing timings for {set(NOTEBOOKS) - set(timings)}"
    assert all(seconds > 0 for seconds in timings.values())


# -- chapter 1: background -------------------------------------------------------------------


def test_ch01_pretrained_beats_scratch_where_labels_are_few():
    r = _load("01_background")
    for k in (8, 32, 128):
        assert r[f"pretrained_acc_{k}"] > r[f"scratch_acc_{k}"], f"at {k} labels per class"
    # the headline: measured +0.12 at 32 labels per class (5 seeds, std about 0.02-0.03)
    assert r["pretrained_acc_32"] - r["scratch_acc_32"] >= 0.08
    assert r["pretrained_acc_32"] >= 0.62
    # from scratch needs many times the labels to match the pre-trained model at 32 per class
    assert r["scratch_labels_to_match_32"] is None or r["scratch_labels_to_match_32"] > 5 * 64


def test_ch01_the_gap_closes_as_labels_grow():
    r = _load("01_background")
    assert (
        r["pretrained_acc_all"] - r["scratch_acc_all"]
        < r["pretrained_acc_32"] - r["scratch_acc_32"]
    )
    assert r["scratch_acc_all"] > r["scratch_acc_8"]


def test_ch01_accuracies_are_sane():
    r = _load("01_background")
    accs = {k: v for k, v in r.items() if k.startswith(("pretrained_acc_", "scratch_acc_"))}
    assert len(accs) == 10
    assert all(0.45 <= v <= 1.0 for v in accs.values()), accs
    assert r["n_seeds"] >= 3


# -- chapter 4: contrastive learning -----------------------------------------------------------


def test_ch04_ntxent_implementations_agree_and_the_encoder_round_trips():
    r = _load("04_contrastive_learning")
    assert r["ntxent_max_abs_diff"] < 1e-5
    assert r["reload_max_abs_diff"] < 1e-5


def test_ch04_pretraining_learns_the_contrastive_task():
    r = _load("04_contrastive_learning")
    # measured (2 cores shared with other jobs, 75-80 s): 170-230 steps, loss 6.1 -> 3.8-3.9,
    # held-out pair accuracy 0.29-0.30
    assert r["pretrain_steps"] >= 50
    assert r["pretrain_final_loss"] < r["chance_loss"] - 1.0
    assert r["held_out_pair_acc"] > 0.10  # chance is 1/511


def test_ch04_linear_probe_well_above_the_random_encoder():
    r = _load("04_contrastive_learning")
    # the headline of the issue: at least 10 points; measured 0.478-0.489 vs 0.357
    # (k-NN 0.443-0.464 vs 0.284) on 2 cores shared with other jobs
    assert r["linear_probe_acc"] - r["random_encoder_probe_acc"] >= 0.10
    assert r["knn_acc"] - r["random_encoder_knn_acc"] >= 0.08
    assert r["linear_probe_acc"] >= 0.44
    assert 0.20 <= r["random_encoder_probe_acc"] <= 0.45  # well above chance, as the text says
    assert 0.40 <= r["supervised_scratch_acc"] <= 1.0


def test_ch04_label_efficiency():
    r = _load("04_contrastive_learning")
    for k in (10, 100, "all"):
        # the pre-trained representation beats the random one at every budget
        assert r[f"probe_acc_{k}"] - r[f"random_probe_acc_{k}"] >= 0.05, k
        assert 0.1 < r[f"supervised_acc_{k}"] <= 1.0
    assert r["probe_acc_10"] < r["probe_acc_100"] < r["probe_acc_all"]
    assert r["supervised_acc_10"] < r["supervised_acc_all"]
    assert r["supervised_acc_all"] == r["supervised_scratch_acc"]


def test_ch04_temperature_ablation():
    r = _load("04_contrastive_learning")
    ablation = r["tau_ablation"]
    assert set(ablation) == {"0.1", "0.5", "1.0"}
    for row in ablation.values():
        assert row["steps"] >= 5
        assert 0.2 <= row["linear_probe_acc"] <= 1.0 and 0.2 <= row["knn_acc"] <= 1.0
    # the text: the k-NN accuracy is higher with the smallest temperature than with the largest
    # (measured for tau 0.1 / 0.5 / 1.0: 0.364 / 0.329 / 0.311 at 8 s each, 0.335 / 0.324 / 0.308
    # and 0.350 / 0.320 / 0.304 at 12 s each)
    assert ablation["0.1"]["knn_acc"] > ablation["1.0"]["knn_acc"]
    assert r["tau_best"] in (0.1, 0.5, 1.0)


def test_ch04_augmentations_and_hard_negatives():
    r = _load("04_contrastive_learning")
    acc = r["pair_acc_by_augmentation"]
    # measured: colour only 0.91-0.96, crop + flip only 0.53-0.56, both 0.32-0.39
    assert acc["colour only"] > acc["crop + flip only"] > acc["both (SimCLR)"]
    assert r["hard_negative_same_class"] > 0.10  # chance is about 0.10


def test_ch04_sentence_retrieval_before_and_after_fine_tuning():
    r = _load("04_contrastive_learning")
    # measured: recall@1 TF-IDF 0.85, MiniLM 0.72 -> 0.76 after fine-tuning; recall@10 0.98
    assert r["text_recall_at_10_before"] >= 0.90
    assert r["text_recall_at_1_before"] >= 0.60
    assert r["text_recall_at_1_tfidf"] >= 0.70
    assert r["text_recall_at_1_after"] >= r["text_recall_at_1_before"] - 0.03  # not broken
    assert r["text_recall_at_10_after"] >= 0.90
    assert r["text_ft_pairs"] >= 64 and r["text_test_questions"] >= 200
    for key in ("tfidf", "before", "after"):
        assert r[f"text_recall_at_1_{key}"] <= r[f"text_recall_at_5_{key}"]
        assert r[f"text_recall_at_5_{key}"] <= r[f"text_recall_at_10_{key}"]
