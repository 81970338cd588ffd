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

from ptlib import models

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(os.environ.get("PTLIB_RESULTS_DIR") or ROOT / "results")
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
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
def test_every_notebook_ran_to_its_end(stem: str):
    # Runtime is reported (tools/run_notebooks.py prints, records and flags it), never asserted:
    # it depends on the machine and its load, and the numbers below do not.
    data = _load(stem)
    assert "runtime_s" in data, f"{stem} did not reach results.finish()"
    assert data["runtime_s"] > 0


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


# -- chapter 2: kinds of pre-trained models ----------------------------------------------------


def test_ch02_parameter_counts_match_the_published_sizes():
    r = _load("02_model_types")
    # counted from the default configs: BERT-base (with its MLM head), GPT-2 small, T5-small, ViT-B/16
    assert abs(r["published_params_bert"] - 109.5e6) < 1e6
    assert abs(r["published_params_gpt2"] - 124.4e6) < 1e6
    assert abs(r["published_params_t5"] - 60.5e6) < 1e6
    assert abs(r["published_params_vit"] - 85.8e6) < 1e6
    # the text: the token table dominates the tiny text models, the blocks the published ones
    for name in ("bert", "gpt2", "t5"):
        assert r[f"tiny_embedding_share_{name}"] > 0.85  # measured 0.89-0.95
        assert r[f"published_embedding_share_{name}"] < 0.35  # measured 0.22-0.32
    assert r["published_embedding_share_vit"] < 0.05


def test_ch02_attention_masks_read_from_the_models():
    assert _load("02_model_types")["attention_mask_checks_pass"] is True


def test_ch02_ways_to_fine_tune():
    r = _load("02_model_types")
    ways = ("probe", "partial", "lora", "full_ft")
    accs = {w: r[f"{w}_dev_acc"] for w in ways}
    # measured (150 steps of 32): probe 0.765, partial 0.807, LoRA 0.791, full 0.828
    assert all(0.6 <= a <= 1.0 for a in accs.values()), accs
    assert accs["full_ft"] == max(accs.values()), "the text: full fine-tuning is the most accurate"
    assert accs["full_ft"] - accs["probe"] >= 0.03
    assert accs["partial"] > accs["probe"] and accs["lora"] > accs["probe"]
    total = r["minilm_classifier_params"]
    assert r["full_ft_trainable_params"] == total
    assert r["lora_trainable_params"] < 0.01 * total < r["partial_trainable_params"] < total
    assert r["probe_trainable_params"] == 384 * 2 + 2
    # exercise 4: a frozen probe on [CLS] is far worse than on the mean (measured 0.517 vs 0.765)
    assert r["probe_dev_acc"] - r["cls_probe_dev_acc"] >= 0.1


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


# -- chapter 5: fine-tuning --------------------------------------------------------------------


def test_ch05_the_corrected_source_example_runs_and_learns():
    r = _load("05_fine_tuning")
    assert r["source_example_dev_acc"] >= 0.6  # measured 0.718 after one epoch on 1,000 phrases


def test_ch05_minilm_fine_tuned_on_sst2():
    r = _load("05_fine_tuning")
    # measured: dev 0.881, test 0.881 after 400 steps of 32; dev 0.884, test 0.882 after 400 steps
    # on one thread (aim: 0.88); the default is now 300 steps
    assert r["minilm_dev_acc"] >= 0.86
    assert r["minilm_test_acc"] >= 0.86
    assert r["minilm_steps"] >= 300
    for key in ("minilm_dev_precision", "minilm_dev_recall", "minilm_dev_macro_f1"):
        assert 0.8 <= r[key] <= 1.0
    assert r["minilm_params"] == 22_566_146  # the encoder without BERT's pooler, plus the head
    assert r["minilm_latency_ms"] > 0 and r["minilm_throughput"] > 0


def test_ch05_pretrained_beats_scratch_by_a_wide_margin_at_32_labels_per_class():
    r = _load("05_fine_tuning")
    # measured: pre-trained 0.712 ± 0.023, the same architecture from scratch 0.503 (3 seeds)
    assert r["pretrained_acc_32"] - r["scratch_acc_32"] >= 0.12
    assert r["label_efficiency_seeds"] >= 2


def test_ch05_label_efficiency_curve_as_described():
    r = _load("05_fine_tuning")
    budgets = sorted(int(k.rsplit("_", 1)[1]) for k in r if k.startswith("pretrained_acc_"))
    assert {8, 32, 128} <= set(budgets)
    pre = [r[f"pretrained_acc_{k}"] for k in budgets]
    scratch = [r[f"scratch_acc_{k}"] for k in budgets]
    # the text: scratch stays near the majority class at every budget; pre-trained climbs
    assert all(a <= 0.62 for a in scratch), scratch
    assert all(b > a for a, b in zip(pre, pre[1:], strict=False)), pre
    assert all(p > s for p, s in zip(pre, scratch, strict=True))
    assert pre[-1] < r["minilm_dev_acc"]  # section 5.2 saw far more labels


def test_ch05_tiny_bert_against_scratch_is_reported_with_intervals():
    r = _load("05_fine_tuning")
    # measured: +0.011 to +0.037 in five runs with earlier budgets; -0.025 ± 0.010 with 300 steps
    # and 5 seeds ("whatever its sign, small next to the distance to all-MiniLM-L6-v2")
    assert r["tiny_bert_seeds"] >= 4
    for key in ("tiny_bert_dev_acc", "tiny_bert_scratch_dev_acc"):
        assert 0.6 <= r[key] <= 0.95
        assert 0 <= r[f"{key}_ci"] < 0.1
    assert 0 <= r["tiny_bert_gain_ci"] < 0.1
    # the text: the gain, whatever its sign, is small next to the distance to all-MiniLM-L6-v2
    tiny_best = max(r["tiny_bert_dev_acc"], r["tiny_bert_scratch_dev_acc"])
    assert abs(r["tiny_bert_gain"]) < (r["minilm_dev_acc"] - tiny_best) / 2


def test_ch05_reuse_wins():
    r = _load("05_fine_tuning")
    tiny_best = max(r["tiny_bert_dev_acc"], r["tiny_bert_scratch_dev_acc"])
    # the text: fine-tuned MiniLM far above both tiny models; the frozen probe matches or beats them
    assert r["minilm_dev_acc"] - tiny_best >= 0.04  # measured 0.872 vs 0.795
    assert r["probe_dev_acc"] >= tiny_best - 0.015  # measured 0.806
    assert r["minilm_dev_acc"] - r["probe_dev_acc"] >= 0.03  # "adds several points"


def test_ch05_model_choice_table():
    r = _load("05_fine_tuning")
    table = r["model_choice"]
    assert len(table) == 4
    best = max(table, key=lambda m: table[m]["dev accuracy"])
    assert best == "all-MiniLM-L6-v2, fine-tuned"
    tfidf = table["TF-IDF + logistic regression (from scratch)"]
    minilm = table["all-MiniLM-L6-v2, fine-tuned"]
    assert tfidf["latency (ms)"] < minilm["latency (ms)"] / 3  # "a fraction" of the transformer's
    assert table["tiny BERT (chapter 3), fine-tuned"]["parameters"] < minilm["parameters"] / 10


def test_ch05_fine_tuning_goes_beyond_chapter_1s_frozen_encoder():
    ch1, ch5 = _load("01_background"), _load("05_fine_tuning")
    # the text: fine-tuning keeps improving with labels, above anything the frozen encoder reached
    assert ch5["minilm_dev_acc"] > ch1["pretrained_acc_all"] + 0.03  # measured 0.872 vs 0.806


# -- chapter 3: masked language modelling ----------------------------------------------------


def test_ch03_objective_and_masking_match_the_library():
    r = _load("03_masked_language_modelling")
    assert r["formula_equals_library"] is True
    assert 0.14 <= r["mask_rate_chosen"] <= 0.16  # 15% of the maskable tokens
    # logits at masked positions only: 2.5x fewer multiply-adds at 15% masking (analytic)
    assert r["masked_only_macs_ratio_15"] > 2.0


def test_ch03_mlm_loss_far_below_the_unigram_baseline():
    r = _load("03_masked_language_modelling")
    # The text: the validation loss ends far below the unigram baseline. Measured with the
    # default 1,800 steps of 1,024 tokens: 0.78x (5.28 against 6.77 nats); the plain recipe
    # reaches 0.98x for 1.6M tokens. The same steps give the same loss on any machine of one
    # kind; 0.82 leaves room for the last digits of another CPU's arithmetic.
    assert r["val_mlm_loss"] <= 0.82 * r["unigram_baseline_loss"]
    assert r["val_loss_over_unigram"] == pytest.approx(
        r["val_mlm_loss"] / r["unigram_baseline_loss"]
    )
    assert 6.0 < r["unigram_baseline_loss"] < 7.5  # about log(869) nats with an 8k vocabulary
    # the bigram baseline (5.41) is far better than the plain recipe (6.62, in the recipe table)
    assert r["bigram_baseline_loss"] < 6.0
    assert r["pretrain_steps"] == models.MLM_RECIPES["cpu"].max_steps  # the step budget, all of it


def test_ch03_masked_token_accuracy_beats_the_most_frequent_token():
    r = _load("03_masked_language_modelling")
    # measured: 24.6% and 25.8% against 4.2% for always guessing "the"
    assert r["masked_token_accuracy"] >= 3 * r["most_frequent_token_accuracy"]
    assert r["masked_token_accuracy"] >= 0.15


def test_ch03_the_model_learned_to_look_at_its_neighbours():
    r = _load("03_masked_language_modelling")
    # measured: 52% of the attention on the 4 nearest tokens, against 6% before (uniform: 6.25%)
    assert r["attention_on_4_neighbours"] > 0.25


def test_ch03_fills_depend_on_the_context():
    r = _load("03_masked_language_modelling")
    fills = r["fill_mask_after"]  # top 3 per cloze sentence, in the notebook's order
    assert len(fills) == 6
    adjectives = {"good", "bad", "great", "terrible", "awful", "best", "worst", "funny", "boring"}
    special, movie = fills[3].split(", "), fills[4].split(", ")
    # measured: "special [effects, characters, ...]"; "a [good, bad, great] movie"
    assert "effects" in special or adjectives & set(movie)
    assert len(set(fills)) > 1  # not the same guesses for every sentence


def test_ch03_budget_experiment_as_the_text_describes_it():
    r = _load("03_masked_language_modelling")
    for k in (32, 1000):
        for kind in ("pretrained", "scratch", "tfidf"):
            assert 0.45 <= r[f"sst2_acc_{k}_{kind}"] <= 1.0
        lo, hi = r[f"sst2_gain_{k}_ci95"]
        assert lo <= r[f"sst2_gain_{k}"] <= hi
    # 1,000 labels per class: pre-trained features beat the random network at every checkpoint
    # and the interval of the final gain is above zero (measured +0.051 [0.041, 0.061] and
    # +0.031 [0.021, 0.041]); TF-IDF is much better still (0.73 against 0.62-0.64)
    by_step = r["sst2_acc_1000_by_checkpoint"]
    assert all(acc > by_step["0"] for step, acc in by_step.items() if step != "0")
    assert r["sst2_gain_1000_ci95"][0] > 0
    assert r["sst2_acc_1000_tfidf"] > r["sst2_acc_1000_pretrained"] + 0.05
    # 32 labels per class: everything close to chance, TF-IDF as good or better (measured
    # pre-trained 0.553-0.554, scratch 0.527, TF-IDF 0.572)
    for kind in ("pretrained", "scratch", "tfidf"):
        assert r[f"sst2_acc_32_{kind}"] < 0.62
    assert r["sst2_acc_32_tfidf"] >= r["sst2_acc_32_pretrained"] - 0.02
    # "about a million times the compute" (6 x parameters x tokens; measured 0.77-1.06 million)
    assert 3e5 <= r["bert_base_compute_ratio"] <= 3e6


# -- chapter 9: bias evaluation ---------------------------------------------------------------


def _ch09() -> dict:
    return _load("09_bias_evaluation")


def test_ch09_records_the_names_the_checks_rely_on():
    r = _ch09()
    for key in (
        "crows_pairs_metric",
        "crows_pairs_metric_cda",
        "stereoset_ss",
        "stereoset_ss_cda",
        "weat_effect_size_career_family",
        "demographic_parity_difference",
        "demographic_parity_difference_mitigated",
        "runtime_s",
    ):
        assert key in r, key
    for key in ("crows_pairs_metric", "crows_pairs_metric_cda", "crows_pairs_metric_random_init"):
        assert 0 <= r[key] <= 100, key
    for model in ("", "_cda", "_random_init"):
        for metric in ("ss", "lms", "icat"):
            assert 0 <= r[f"stereoset_{metric}{model}"] <= 100


def test_ch09_every_interval_contains_its_estimate():
    r = _ch09()
    checked = 0
    for key, ci in r.items():
        point = key.removesuffix("_ci95")
        if not key.endswith("_ci95") or point not in r:
            continue
        pairs = ci.items() if isinstance(ci, dict) else [(None, ci)]
        for sub, (lo, hi) in pairs:
            value = r[point] if sub is None else r[point][sub]
            assert lo - 0.01 <= value <= hi + 0.01, f"{point} {sub or ''} = {value} outside {ci}"
            checked += 1
    assert checked >= 20


def test_ch09_weat_and_seat_as_the_text_describes():
    r = _ch09()
    # measured: WEAT 6 (male/female names vs career/family) d = +1.02, exact p = 0.017 over
    # 12,870 splits; flowers/insects d = +1.23; 9 of 15 tests at p < 0.05; SEAT 6 d = +1.29
    assert r["weat_effect_size_career_family"] > 0.5
    assert r["weat_p_value_career_family"] < 0.05
    assert r["weat_effect_size_flowers_insects"] > 0.8
    assert all(-2 <= d <= 2 for d in r["weat_effect_sizes"].values())
    assert all(0 < p <= 1 for p in r["weat_p_values"].values())
    assert 4 <= r["weat_n_significant"] <= 15
    assert r["seat_effect_size_career_family"] > 0.5 and r["seat_p_value_career_family"] < 0.01


def test_ch09_the_tiny_bert_is_too_weak_for_the_benchmarks_to_show_a_bias():
    r = _ch09()
    # measured: CrowS-Pairs 44.0 [41.5, 46.6], random model 52.3; SS 51.3; LMS 54.4 against the
    # random model's 49.9 and BERT-base's 80-90; ICAT 53.0
    assert 40 <= r["crows_pairs_metric"] <= 60  # off 50 by a few points at most
    assert 42 <= r["crows_pairs_metric_random_init"] <= 58  # "also close to 50"
    assert 44 <= r["stereoset_ss"] <= 56
    assert 45 <= r["stereoset_lms_random_init"] <= 55  # chance
    assert r["stereoset_lms_random_init"] + 3 < r["stereoset_lms"] < 75  # better, but far from BERT
    lo, hi = r["crows_pairs_metric_ci95"]
    assert 3 < hi - lo < 8  # "spans about 5 points"
    for bias_type, (lo, hi) in r["crows_pairs_by_type_ci95"].items():
        if r["crows_pairs_by_type_pairs"][bias_type] <= 100:
            assert hi - lo > 15, bias_type  # "more than 15 points"


def test_ch09_cda_removes_the_pronoun_preference_and_the_benchmarks_cannot_tell():
    r = _ch09()
    assert r["cda_steps"] == r["base_steps"]  # the same budget
    assert r["corpus_male_female_pronoun_ratio"] > 2  # "more than twice as often"
    assert r["cda_docs_changed_fraction"] > 0.5
    # measured: log P(he)/P(she) +0.92 for the base model, -0.05 after CDA (earlier recipe: 1% to
    # 37% of the base model's in five runs); male- minus female-dominated jobs +0.01
    assert r["pronoun_log_ratio_base"] > 0.3
    assert r["pronoun_log_ratio_cda"] < r["pronoun_log_ratio_base"] / 2  # "most of it is gone"
    assert abs(r["pronoun_occupation_gap_base"]) < 0.15  # "about the same amount"
    # the cost, "nothing measurable": the CDA model's held-out loss is not higher (measured 5.037
    # against 5.239 nats; with the earlier 2,048-token recipe, +0.002 to +0.09 in five runs), and
    # its LMS within about a point (+0.4, paired interval [-1.0, +1.8])
    assert r["val_loss_cda"] - r["val_loss_base"] < 0.03 * r["val_loss_base"]
    assert abs(r["stereoset_lms_cda"] - r["stereoset_lms"]) < 2
    lo, hi = r["stereoset_lms_cda_minus_base_ci95"]
    assert lo <= r["stereoset_lms_cda"] - r["stereoset_lms"] + 0.01 and hi - lo < 4
    # the broad benchmarks: CrowS-Pairs moves "by a few points" (measured 44.0 -> 49.5, from below
    # 50 to about 50), SS "by less than two points" (51.3 -> 49.7); intervals "4 to 7 points wide"
    # (measured 7.0 and 3.7); on gender items "10 to 17 points wide" (16.8 and 10.3)
    assert abs(r["crows_pairs_metric_cda"] - r["crows_pairs_metric"]) < 8
    assert abs(r["stereoset_ss_cda"] - r["stereoset_ss"]) < 2
    for key in ("crows_pairs_cda_minus_base_ci95", "stereoset_ss_cda_minus_base_ci95"):
        lo, hi = r[key]
        assert 2 < hi - lo < 9, key
    lo, hi = r["crows_pairs_gender_cda_minus_base_ci95"]
    assert hi - lo > 8
    lo, hi = r["stereoset_ss_gender_cda_minus_base_ci95"]
    assert hi - lo > 7


def test_ch09_fairness_mitigations_and_what_they_cost():
    r = _ch09()
    # measured: DP difference 0.177 (base rates differ by 0.191) -> 0.002 with group thresholds
    # (74-fold), accuracy 0.852 -> 0.831; equalized odds 0.091 -> 0.006 at accuracy 0.836;
    # reweighting 0.081 at accuracy 0.844
    dp, dp_mitigated = (
        r["demographic_parity_difference"],
        r["demographic_parity_difference_mitigated"],
    )
    assert 0.1 < dp < 0.3
    assert 0.1 < r["adult_base_rate_difference"] < 0.3
    assert dp_mitigated < 0.03 and r["dp_reduction_factor"] > 5  # "nearly all of the gap"
    assert 0 < r["fairness_accuracy_cost"] < 0.04  # "about two points of accuracy"
    assert r["fairness_accuracy"] > 0.8
    assert r["equalized_odds_difference_mitigated"] < r["equalized_odds_difference"] / 3
    assert r["fairness_accuracy_mitigated"] < r["fairness_accuracy_equalized_odds"]  # "for less"
    assert 0.3 * dp < r["demographic_parity_difference_reweighting"] < 0.7 * dp  # "roughly halves"
    assert r["fairness_accuracy"] - r["fairness_accuracy_reweighting"] < 0.01  # "less than a point"


# -- chapter 6: NLP applications -------------------------------------------------------------


def _ch06() -> dict:
    return _load("06_nlp_applications")


def _ch06b() -> dict:
    return _load("06_nlp_applications_2")


def test_ch06_topics_pretraining_wins_and_tfidf_on_whole_articles_wins_more():
    r = _ch06()
    # measured: fine-tuned 0.930, from scratch 0.297 (near the 0.2 of guessing), TF-IDF + LR
    # 0.908 on the same cut articles ("a couple of points behind") and 0.971 on whole articles
    assert r["topic_accuracy"] > 0.85
    assert r["topic_accuracy"] > r["topic_accuracy_scratch"] + 0.3
    assert r["topic_accuracy_scratch"] < 0.45
    assert 0 < r["topic_accuracy"] - r["topic_accuracy_tfidf_cut"] < 0.06
    assert r["topic_accuracy_tfidf_full"] > r["topic_accuracy"]
    assert r["topic_latency_ms_tfidf"] < r["topic_latency_ms"]  # "several times faster"


def test_ch06_summaries_content_methods_beat_lead_and_tfidf_is_as_good():
    r = _ch06()
    # measured ROUGE-L: MMR 46.1, centrality 46.8, TF-IDF centrality 45.7, lead-k 41.2, lead-3 35.6
    lead = r["summarisation_rouge_l_lead"]
    for key in (
        "summarisation_rouge_l",
        "summarisation_rouge_l_centrality",
        "summarisation_rouge_l_tfidf",
    ):
        assert r[key] > lead + 2, key  # "every content-based method beats lead-k"
    assert abs(r["summarisation_rouge_l"] - r["summarisation_rouge_l_centrality"]) < 1.5
    assert r["summarisation_rouge_l"] <= r["summarisation_rouge_l_centrality"]  # "does not help"
    assert abs(r["summarisation_rouge_l_centrality"] - r["summarisation_rouge_l_tfidf"]) < 2
    assert r["summarisation_rouge_l_lead3"] < lead


def test_ch06_dialogue_pretrained_far_above_scratch_finetuning_adds_nothing_measurable():
    r = _ch06()
    # measured recall@1 of 10: zero-shot 0.593, fine-tuned 0.600, from scratch 0.223, TF-IDF 0.365
    assert r["dialogue_candidates"] == 10
    assert r["dialogue_dropped_overlap"] == 93
    assert 0.5 < r["dialogue_recall_at_1_zero_shot"] < 0.7  # "about six times in ten"
    assert r["dialogue_recall_at_1"] > r["dialogue_recall_at_1_scratch"] + 0.2
    assert r["dialogue_recall_at_1_zero_shot"] > r["dialogue_recall_at_1_scratch"] + 0.2
    assert abs(r["dialogue_recall_at_1"] - r["dialogue_recall_at_1_zero_shot"]) < 0.02
    assert 0.12 < r["dialogue_recall_at_1_scratch"] < 0.35  # "about twice chance"
    assert r["dialogue_recall_at_1_tfidf"] < r["dialogue_recall_at_1_zero_shot"]


def test_ch06_qa_pretrained_far_above_scratch_and_level_with_the_overlap_baseline():
    r = _ch06b()
    # measured on 150 part-2 questions: pre-trained EM 12.7 / F1 20.2, from scratch EM 0.0 /
    # F1 4.9, the sentence with most question words EM 0.0 / F1 18.6 ("only level with", "a
    # difference of a few answers, too small to call a win")
    assert r["qa_eval_questions"] >= 100
    assert r["qa_f1"] > r["qa_f1_scratch"] + 10  # "far ahead of the same network"
    assert r["qa_exact_match"] > r["qa_exact_match_scratch"]
    assert r["qa_exact_match_scratch"] < 2  # "finds none"
    assert abs(r["qa_f1"] - r["qa_f1_overlap"]) < 5  # "level with the word-overlap baseline"
    assert r["qa_exact_match_overlap"] < 1  # "never matches exactly"
    assert 8 < r["qa_exact_match"] < 18  # "about one answer in eight exactly"


def test_ch06_retrieval_tfidf_as_good_as_minilm_and_reader_limits_the_system():
    r = _ch06b()
    # measured recall@1 over 139 paragraphs: MiniLM 0.873, TF-IDF 0.900; open F1 19.6 vs 20.2
    assert r["qa_retrieval_recall_at_1"] > 0.75 and r["qa_retrieval_recall_at_1_tfidf"] > 0.75
    assert abs(r["qa_retrieval_recall_at_1"] - r["qa_retrieval_recall_at_1_tfidf"]) < 0.05
    assert abs(r["qa_open_f1"] - r["qa_f1"]) < 2  # "close to the reader's score"


def test_ch06_translation_neither_translates_and_copying_the_source_scores_higher_chrf():
    r = _ch06b()
    # measured on 150 test sentences after 640 pairs: BLEU 1.28 warm-started, 0.37 from scratch
    # ("both below 2"); chrF 16.0 vs 15.4 ("a little ahead"), copying the source 18.5 ("both
    # below copying"); on 20 sentences greedy BLEU 2.13, beam 0.79 ("beam scores lower")
    assert r["translation_bleu"] < 2 and r["translation_bleu_scratch"] < 2
    assert 0 < r["translation_chrf"] - r["translation_chrf_scratch"] < 3
    assert r["translation_chrf_copy"] > r["translation_chrf"]
    assert r["translation_chrf_copy"] > r["translation_chrf_scratch"]
    assert r["translation_bleu_beam_few"] < r["translation_bleu_greedy_few"]
    assert r["translation_train_pairs_seen"] < 0.03 * 29_000  # "about 2 % of one pass"
