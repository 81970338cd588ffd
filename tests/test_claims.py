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

from ptlib import mlm

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


def test_ch02_attention_written_out_equals_the_library_layer():
    # scaled dot-product attention and one BERT block in a few lines of torch, on the layer's own
    # weights, bidirectional and causal masks: equal up to float32 rounding (measured 2.4e-7)
    assert _load("02_model_types")["attention_from_scratch_max_diff"] < 1e-5


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


def test_ch05_the_source_example_fails_in_nine_places_then_runs():
    # Source §5.1 run statement by statement: 9 failures (4 missing imports, 2 placeholders, lists
    # for TensorDataset, tuples for Trainer, the Hub offline), each fixed, then it trains.
    assert _load("05_fine_tuning")["source_example_defects"] == 9


def test_ch05_the_corrected_source_example_runs_and_learns():
    r = _load("05_fine_tuning")
    assert r["source_example_dev_acc"] >= 0.6  # measured 0.783 after one epoch on 1,000 phrases


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


def test_ch03_one_step_written_out_lowers_the_loss_on_its_batch():
    r = _load("03_masked_language_modelling")
    # untrained: near log V = log 8,192 = 9.0; one AdamW step must lower the loss on that batch
    assert 8.0 < r["one_step_loss_before"] < 10.0
    assert r["one_step_loss_after"] < r["one_step_loss_before"] - 0.05


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
    assert r["pretrain_steps"] == mlm.MLM_RECIPES["cpu"].max_steps  # the step budget, all of it


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
    # "more than a million times the compute" (6 x parameters x tokens; 1.71 million with 1,800
    # steps of 1,024 tokens: a step budget, so the same on every run)
    assert 1e6 < r["bert_base_compute_ratio"] <= 3e6


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


# -- chapter 3b: decoder language models and tokenizers ----------------------------------------


def _ch03b() -> dict:
    return _load("03_decoder_language_models")


def test_ch03b_tokenizers_as_the_text_describes_them():
    r = _ch03b()
    # "Byte-level BPE never needs [UNK]; the other two need it rarely here"
    assert r["unk_rate_bpe"] == 0
    assert r["unk_rate_wordpiece"] < 1e-3 and r["unk_rate_unigram"] < 1e-3
    # the Chinese sentence: bytes for BPE, [UNK]/<unk> for the other two
    unk = r["unk_tokens_in_chinese_example"]
    assert unk["byte-level BPE"] == 0 and unk["WordPiece"] > 0 and unk["Unigram"] > 0
    # "byte-level BPE and WordPiece need about the same number of tokens per word; Unigram needs
    # more" (measured at 4,096 entries: 1.559, 1.563 and 1.746 tokens per word)
    bpe, wordpiece, unigram = (r[f"tokens_per_word_{k}"] for k in ("bpe", "wordpiece", "unigram"))
    assert abs(bpe - wordpiece) / bpe < 0.05
    assert unigram > 1.05 * max(bpe, wordpiece)
    assert 1.0 < min(bpe, wordpiece, unigram) and max(bpe, wordpiece, unigram) < 2.5
    assert 0 < r["unigram_lone_space_share"] < 0.1  # "part of the difference"
    # "not every entry is used on 1,000 reviews"
    for k in ("bpe", "wordpiece", "unigram"):
        assert 0.5 < r[f"vocab_used_{k}"] < 1.0


def test_ch03b_causal_lm_loss_well_below_the_unigram_baseline():
    r = _ch03b()
    assert r["causal_lm_loss_equals_library"] is True
    assert r["causal_lm_steps"] == 800  # the default step budget, all of it
    assert r["causal_lm_parameters"] < 1_000_000  # "under a million parameters"
    # measured: 5.870 nats against 6.817 (0.86x), bigram 5.131, with 800 steps of 1,024 tokens
    assert r["causal_lm_val_loss"] <= 0.9 * r["causal_lm_unigram_loss"]
    assert r["causal_lm_val_over_unigram"] == pytest.approx(
        r["causal_lm_val_loss"] / r["causal_lm_unigram_loss"]
    )
    # "It does not reach the bigram baseline"
    assert r["causal_lm_bigram_loss"] < r["causal_lm_val_loss"]


def test_ch03b_the_tiny_model_shows_no_in_context_learning():
    r = _ch03b()
    # "near chance with or without the examples" (measured: 50.0% and 50.5%, majority 50.5%, n = 200)
    assert r["icl_sentences"] >= 100
    for key in ("icl_zero_shot_accuracy", "icl_few_shot_accuracy"):
        assert abs(r[key] - 0.5) < 0.1
    assert r["icl_few_shot_accuracy"] < r["icl_majority_accuracy"] + 0.1
    # "GPT-3 used ... times this compute": more than ten billion times
    assert r["gpt3_compute_ratio"] > 1e10


# -- chapter 7: vision applications ------------------------------------------------------------


def test_ch07_keys_the_checks_rely_on():
    r = {**_load("07_vision_applications"), **_load("07_vision_applications_2")}
    for key in (
        "classification_acc",
        "classification_acc_scratch",
        "classification_labels_per_class",
        "detection_map50",
        "detection_map50_scratch",
        "segmentation_dice",
        "segmentation_dice_scratch",
        "generation_score",
        "generation_score_name",
        "runtime_s",
    ):
        assert key in r, key
    assert "not FID" in r["generation_score_name"]


def test_ch07_classification_fine_tuning_beats_scratch_and_the_probe():
    r = _load("07_vision_applications")
    # measured (means over 3 seeds; 500 per class: one seed): pre-trained 32.9 / 43.5 / 53.9%,
    # from scratch 29.2 / 40.9 / 52.4%, linear probe 31.2 / 38.5 / 46.6%; the smallest per-seed
    # gain at 10 and 100 labels per class +0.9 points
    gains = {}
    for k in (10, 100, 500):
        acc, scratch = r[f"classification_acc_{k}"], r[f"classification_acc_scratch_{k}"]
        assert acc > 0.2 and scratch > 0.15, k  # both well above chance (10%)
        gains[k] = acc - scratch
    assert gains[10] > 0.01 and gains[100] > 0.01  # "beat ... at every label budget"
    assert gains[500] > 0
    assert r["classification_min_seed_gain_few"] > 0  # every few-label seed
    assert gains[500] < gains[10]  # "by the most with the fewest labels ... the gap narrowed"
    for k in (100, 500):  # "it also beat chapter 4's linear probe"
        assert r[f"classification_acc_{k}"] > r[f"classification_probe_acc_{k}"] + 0.02, k
    assert r["classification_acc_10"] > r["classification_probe_acc_10"]
    assert r["classification_labels_per_class"] == 100
    assert r["classification_acc"] == r["classification_acc_100"]


def test_ch07_detection_pretrained_backbone_helps():
    r = _load("07_vision_applications")
    # measured: mAP@0.5 0.654 pre-trained, 0.606 from scratch, 0.266 for one fixed central box;
    # recall at score 0.5: 55% and 34%
    assert r["detection_map50"] > r["detection_map50_scratch"]
    assert r["detection_recall"] > r["detection_recall_scratch"]
    assert (
        min(r["detection_map50"], r["detection_map50_scratch"])
        > 1.5 * r["detection_map50_centre_box"]
    )  # "both are far above a detector that does not look at the image"
    assert r["detection_map50"] < 0.9  # "neither is good by the standards of the field"


def test_ch07_segmentation_is_a_tie():
    r = _load("07_vision_applications_2")
    # measured: Dice 0.780 pre-trained, 0.776 from scratch (IoU 0.639, 0.634); all-membrane 0.332
    assert abs(r["segmentation_dice"] - r["segmentation_dice_scratch"]) < 0.02  # "ended level"
    for key in ("segmentation_dice", "segmentation_dice_scratch"):
        assert r[key] > 2 * r["segmentation_dice_all_membrane"]  # "more than twice"
    d = r["segmentation_dice"]
    assert abs(r["segmentation_iou"] - d / (2 - d)) < 1e-3
    assert r["segmentation_held_out_slices"] == [25, 26, 27, 28, 29]


def test_ch07_generation_latent_space_beats_pixel_space():
    r = _load("07_vision_applications_2")
    # measured Fréchet distances: real images 0.86, AE reconstructions 3.2, latent VAE 20.2,
    # pixel VAE 58.6, uniform noise 131.6
    assert (
        r["generation_score_real"]
        < r["generation_score_ae_recon"]
        < r["generation_score"]
        < r["generation_score_pixel"]
        < r["generation_score_noise"]
    )
    assert r["generation_score"] < 0.6 * r["generation_score_pixel"]  # "well below"
    assert r["generation_steps"] == 300 and r["autoencoder_steps"] == 300


# -- chapter 8: pre-training in other fields ---------------------------------------------------

CH08_KEYS = (
    "rec_ndcg10",
    "rec_ndcg10_baseline",
    "rec_hr10",
    "risk_auc",
    "risk_auc_scratch",
    "risk_auc_gbm",
    "medical_auc",
    "medical_auc_scratch",
    "medical_sensitivity",
    "medical_specificity",
    "runtime_s",
)


def _ch08() -> dict:
    return _load("08_recommendation_and_risk") | _load("08_medical_diagnosis")


def test_ch08_records_the_names_the_checks_rely_on():
    r = _ch08()
    missing = [k for k in CH08_KEYS if k not in r]
    assert not missing, f"chapter 8 results lack {missing}"


def test_ch08_masked_item_bert_beats_both_baselines():
    r = _load("08_recommendation_and_risk")
    # the baseline is the better of popularity and matrix factorisation
    assert r["rec_ndcg10_baseline"] == max(r["rec_ndcg10_pop"], r["rec_ndcg10_mf"])
    assert r["rec_ndcg10_mf"] > r["rec_ndcg10_pop"]
    # measured NDCG@10 NDCG_MEASURED; "beats both baselines on both metrics"
    assert r["rec_ndcg10"] >= 1.2 * r["rec_ndcg10_baseline"]
    assert r["rec_hr10"] > r["rec_hr10_baseline"] + 0.01
    # full-ranking numbers: far above a random ranking (HR@10 about 10/1600), far below 1
    assert 0.05 < r["rec_hr10"] < 0.5


def test_ch08_tabular_pretraining_helps_only_a_little():
    r = _load("08_recommendation_and_risk")
    by = r["risk_auc_by_budget"]
    # "beats the same network from scratch on average at every budget, by less than 0.01"
    # (measured +0.003 to +0.0045 over 5 label samples)
    for budget, gain in r["risk_gain_over_scratch"].items():
        assert 0 < gain < 0.01, f"{budget} labels: pre-trained minus scratch {gain:+.4f}"
    assert r["risk_auc"] == by[f"pre-trained (SCARF) @ {r['risk_labels']}"]
    assert r["risk_labels"] == 64


def test_ch08_trees_lose_with_64_labels_and_win_with_all():
    r = _load("08_recommendation_and_risk")
    by = r["risk_auc_by_budget"]
    # "with 64 labels both networks beat the trees" (measured 0.839 / 0.834 vs 0.795)
    assert r["risk_auc"] > r["risk_auc_gbm"] + 0.02
    assert r["risk_auc_scratch"] > r["risk_auc_gbm"] + 0.02
    # "by 1,024 labels the trees have caught up" (measured 0.883 vs 0.885 / 0.881)
    nets = [by["pre-trained (SCARF) @ 1024"], by["same network, scratch @ 1024"]]
    assert abs(by["gradient-boosted trees @ 1024"] - max(nets)) < 0.01
    # "with all the labels, gradient-boosted trees are the best model" (0.927 vs 0.901 / 0.901)
    full = r["risk_auc_all_labels"]
    assert (
        full["gradient-boosted trees"]
        > max(full["pre-trained (SCARF)"], full["same network, scratch"]) + 0.01
    )


def test_ch08_calibration_as_the_text_describes_it():
    r = _load("08_recommendation_and_risk")
    ece, small = r["risk_ece"], r["risk_ece_smallest"]
    # with 1,024 labels the networks are better calibrated than the trees (0.045 / 0.053 vs 0.077)
    for net in ("pre-trained (SCARF)", "same network, scratch"):
        assert ece[f"{net} @ 1024"] < ece["gradient-boosted trees @ 1024"]
    # with 64 labels every model's ECE is larger, the networks' most of all
    for model in small:
        assert small[model] > ece[f"{model} @ 1024"]
    assert (
        min(small["pre-trained (SCARF)"], small["same network, scratch"])
        > small["gradient-boosted trees"]
    )


def test_ch08_german_credit_shows_no_clear_winner():
    r = _load("08_recommendation_and_risk")
    by = r["german_auc_by_budget"]
    # "no model is clearly better": every budget's three means within 0.05 (SE about 0.03)
    for budget in {k.rsplit(" @ ", 1)[1] for k in by}:
        scores = [v for k, v in by.items() if k.endswith(f" @ {budget}")]
        assert len(scores) == 3 and max(scores) - min(scores) < 0.05, budget
    assert 0.6 < r["german_auc"] < 0.85


def test_ch08_photo_encoder_helps_x_rays_only_where_labels_are_few():
    r = _load("08_medical_diagnosis")
    # few labels: the pre-trained features beat random ones by a wide margin (0.914 vs 0.849),
    # and are about as good as fine-tuning either network (0.907 / 0.907)
    assert r["medical_auc_probe_few"] > r["medical_auc_random_probe_few"] + 0.03
    for key in ("medical_auc_few", "medical_auc_scratch_few"):
        assert abs(r["medical_auc_probe_few"] - r[key]) < 0.03, key
    # all labels: fine-tuning ends level with training from scratch (0.946 vs 0.948)
    assert abs(r["medical_auc"] - r["medical_auc_scratch"]) < 0.02
    assert min(r["medical_auc"], r["medical_auc_scratch"]) > 0.9
    # a probe on random convolutional features is far above chance
    assert r["medical_auc_random_probe_few"] > 0.75
    assert r["medical_auc_random_probe"] > 0.85


def test_ch08_threshold_and_prevalence_shift_as_the_text_describes_it():
    r = _load("08_medical_diagnosis")
    # chosen on validation for sensitivity >= 95%
    assert r["medical_val_sensitivity"] >= 0.95
    # on test: sensitivity holds (it rises), specificity falls well below its validation value
    assert r["medical_sensitivity"] >= 0.9
    assert r["medical_specificity"] < r["medical_val_specificity"] - 0.1
    assert r["medical_ppv"]["test"] < r["medical_ppv"]["validation"]


# -- chapter 10: trends and challenges --------------------------------------------------------


def _ch10() -> dict:
    """Both chapter-10 notebooks' results together (10_trends and 10_challenges)."""
    return {**_load("10_trends"), **_load("10_challenges")}


def test_ch10_records_the_names_the_checks_rely_on():
    r = _ch10()
    for key in (
        "scaling_exponent", "scaling_sizes", "quantised_speedup", "quantised_accuracy",
        "distilled_accuracy", "distilled_speedup", "original_accuracy",
        "deletion_auc_attribution", "deletion_auc_random", "adversarial_success_rate",
        "backdoor_attack_success", "backdoor_clean_accuracy", "clean_model_accuracy", "runtime_s",
    ):  # fmt: skip
        assert key in r, key


def test_ch10_scaling_loss_falls_with_size_but_the_fit_is_weak():
    r = _load("10_trends")
    sizes, losses = r["scaling_sizes"], r["scaling_losses"]
    assert len(sizes) >= 4 and sizes == sorted(sizes)
    # "the loss does fall with size ... about two tenths of a nat" (measured 6.195 -> 6.008)
    assert losses[-1] < losses[0] and losses[-2] < losses[0]
    assert 0.1 < losses[0] - min(losses) < 0.35
    # every model is under-trained: fewer tokens than 20 per parameter even for the smallest
    assert r["scaling_tokens"] < 20 * sizes[0]
    # "about a hundredth, several times smaller than Kaplan's 0.076" (measured 0.0103)
    assert 0.003 < r["scaling_exponent_no_c"] < 0.03
    assert 0 < r["scaling_exponent"] < 0.076
    # utilisation is low, and a share: 6ND / CPU-seconds / matmul peak (measured 0.18-0.22)
    assert 0 < r["mfu_largest"] < 0.6


def test_ch10_one_encoder_several_tasks_as_the_text_describes():
    r = _load("10_trends")
    # probe far ahead of TF-IDF on SST-2 (0.771 vs 0.659); within about a point on BBC topics
    # (0.955 vs 0.964); TF-IDF slightly ahead on dialogue acts (0.650 vs 0.628)
    assert r["probe_sst2"] > r["tfidf_sst2"] + 0.05
    assert abs(r["probe_bbc"] - r["tfidf_bbc"]) < 0.03
    assert -0.06 < r["probe_dialogue_act"] - r["tfidf_dialogue_act"] < 0.01
    # zero-shot far above the majority class on topics and sentiment, below it on dialogue acts
    assert r["zero_shot_bbc"] > r["majority_bbc"] + 0.4
    assert r["zero_shot_sst2"] > r["majority_sst2"] + 0.1
    assert r["zero_shot_dialogue_act"] < r["majority_dialogue_act"]
    # "task-specific fine-tuning still wins where its labels exist"
    assert r["original_accuracy"] > r["probe_sst2"]


def test_ch10_quantisation_and_distillation_as_the_text_describes():
    r = _load("10_trends")
    # int8: "no measurable accuracy" lost (0.868 vs 0.866), agrees on almost every sentence,
    # "about two thirds" of the size (0.648: the float32 embeddings stay)
    assert abs(r["quantised_accuracy"] - r["original_accuracy"]) < 0.01
    assert r["quantised_agreement"] > 0.98
    assert 0.6 < r["quantised_size_ratio"] < 0.7
    # distillation: "about six points" lost (0.803 vs 0.866), far above the student before it
    # (0.610, "about ten points above the majority class"); speed is measured, never asserted
    assert 0.03 < r["original_accuracy"] - r["distilled_accuracy"] < 0.1
    assert r["distilled_accuracy"] > r["student_before_accuracy"] + 0.1
    assert r["student_before_accuracy"] < 0.7
    assert r["distilled_size_ratio"] < 0.75
    assert r["quantised_speedup"] > 0 and r["distilled_speedup"] > 0


def test_ch10_attributions_are_faithful_and_the_attack_works_as_described():
    r = _load("10_challenges")
    # deletion AUC: integrated gradients "about half of random's" (0.352 vs 0.725); attention
    # "better than random but clearly worse than integrated gradients" (0.591)
    ig, att, rnd = (
        r["deletion_auc_attribution"],
        r["deletion_auc_attention"],
        r["deletion_auc_random"],
    )
    assert ig < 0.65 * rnd
    assert ig + 0.1 < att < rnd
    # "flips about half" of the correctly classified sentences (0.508); accuracy "about halves"
    # (0.788 -> 0.388)
    assert 0.3 < r["adversarial_success_rate"] < 0.7
    under, clean = r["adversarial_accuracy_under_attack"], r["adversarial_clean_accuracy"]
    assert 0.3 * clean < under < 0.7 * clean


def test_ch10_backdoor_privacy_and_cost_as_the_text_describes():
    r = _load("10_challenges")
    # backdoor: clean accuracy "within a point" of the clean model's (0.814 vs 0.822); "nearly
    # all" triggered negatives become positive (0.944); the clean model is not moved by the
    # trigger (0.213 with it); the scan ranks the trigger first
    assert abs(r["backdoor_clean_accuracy"] - r["clean_model_accuracy"]) < 0.02
    assert r["clean_model_accuracy"] > 0.75
    assert r["backdoor_attack_success"] > 0.85
    assert r["clean_model_trigger_rate"] < 0.4
    assert r["backdoor_attack_success"] > r["clean_model_trigger_rate"] + 0.4
    assert r["backdoor_scan_rank"] == 1
    # membership inference "only a little better than a coin toss", "about 0.55" (0.554)
    assert 0.5 < r["membership_auc"] < 0.62
    assert r["member_loss"] < r["nonmember_loss"]
    # cost: BERT-base "decades", GPT-3 "over a hundred thousand years" on this CPU thread
    assert 1e5 < r["gpt3_years_here"] < 1e7
    assert r["course_kwh"] > 0


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
