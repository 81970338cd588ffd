"""ptlib under wrong and hostile input: every case gets a clear error or the correct behaviour.

One table of cases across the public API (issue 17). Each :class:`Case` calls ptlib the way a
new user might get it wrong and asserts one of three outcomes:

- ``raises``: that exception type, with a message that matches ``match`` (a regular
  expression: it must name the argument, file or variable, and say what to do);
- ``warns``: that warning, matching ``match``, and then ``check`` on the result;
- neither: ``check`` on the result (the correct behaviour, e.g. nothing was deleted).

``call`` and ``check`` receive pytest's ``tmp_path``, so cases that write files stay apart.
The sections below follow ptlib's modules, bottom layer first.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from ptlib import (  # the statistics cases
    attribution,
    bias,
    calibration,
    checks,
    detection,
    evaluate,
    generation,
    objectives,
    qa,
    quantize,
    ranking,
    scaling,
    segmentation,
    text,
    vision,
)


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[Path], Any]
    raises: type[BaseException] | tuple[type[BaseException], ...] | None = None
    match: str = ""
    warns: type[Warning] | None = None
    check: Callable[[Any, Path], None] | None = None


# The tables are laid out by hand, one case per two lines: ruff format leaves them alone.
# fmt: off

# ---------------------------------------------------------------------------------------------
# checks: the argument checks every module uses
# ---------------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


CHECKS_CASES = [
    Case("checks/positive_int-zero", lambda p: checks.positive_int(0, "batch_size"),
         ValueError, r"batch_size must be at least 1, got 0"),
    Case("checks/positive_int-bool", lambda p: checks.positive_int(True, "max_steps"),
         TypeError, r"max_steps must be a whole number"),
    Case("checks/finite_number-nan", lambda p: checks.finite_number(float("nan"), "temperature"),
         ValueError, r"temperature must be a finite number"),
    Case("checks/finite_array-empty", lambda p: checks.finite_array([], "scores"),
         ValueError, r"scores is empty"),
    Case("checks/finite_array-inf", lambda p: checks.finite_array([1.0, np.inf], "scores"),
         ValueError, r"scores holds 1 NaN or infinite"),
    Case("checks/finite_tensor-nan", lambda p: checks.finite_tensor(torch.tensor([np.nan]), "logits"),
         ValueError, r"logits holds 1 NaN"),
    Case("checks/texts-one-string", lambda p: checks.texts("a sentence"),
         TypeError, r"texts must be a sequence of strings, not one string"),
    Case("checks/texts-none", lambda p: checks.texts(["ok", None]),
         TypeError, r"texts\[1\] is None"),
    Case("checks/read_json-corrupt", lambda p: checks.read_json(_write(p / "x.json", "{"), "results file"),
         ValueError, r"results file .*x\.json is not valid JSON"),
]

# ---------------------------------------------------------------------------------------------
# runtime, results, storage, data
# ---------------------------------------------------------------------------------------------

RUNTIME_DATA_CASES: list[Case] = []

# ---------------------------------------------------------------------------------------------
# models: checksums, weights, mlm, contrastive, saved classifiers
# ---------------------------------------------------------------------------------------------

MODEL_CASES: list[Case] = []

# ---------------------------------------------------------------------------------------------
# training: train, finetune
# ---------------------------------------------------------------------------------------------

TRAINING_CASES: list[Case] = []

# ---------------------------------------------------------------------------------------------
# statistics: objectives, evaluate, bias, text, vision and the chapter 6-10 modules
# ---------------------------------------------------------------------------------------------

def _expect(ok: bool) -> None:
    assert ok, "unexpected result"


# Inputs for the cases below: tiny sets of vectors, labels and models.
_RNG = np.random.default_rng(17)
_V = _RNG.normal(size=(4, 5))  # four 5-d vectors


def _with_nan(v: np.ndarray) -> np.ndarray:
    v = v.copy()
    v[1, 2] = np.nan
    return v


def _fit_one_class(p: Path) -> Any:
    return evaluate.LinearProbe().fit(_V, [1, 1, 1, 1])


def _quantize_with_typo(p: Path) -> Any:
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    return quantize.quantize_linear_layers(net, skip=["head"])


def _pack_short(p: Path) -> torch.Tensor:
    return text.pack_sequences([[5, 6, 7]], seq_len=16, cls_id=2, sep_id=3)


def _nan_scores(keep: np.ndarray) -> np.ndarray:
    return np.full(len(keep), np.nan)


def _never_called() -> Any:
    raise AssertionError("a model was trained before the bad budget was found")


def _budget_zero(p: Path) -> Any:
    y = np.array([0, 1] * 4)
    return evaluate.label_efficiency(_V.repeat(2, 0), y, _V, y[:4], [1, 0], [0], _never_called)


STATISTICS_CASES: list[Case] = [
    # bias: WEAT/SEAT
    Case("bias/weat-nan-embedding", lambda p: bias.weat(_with_nan(_V), _V, _V, _V),
         ValueError, r"x holds 1 NaN or infinite value"),
    Case("bias/weat-negative-permutations", lambda p: bias.weat(_V[:2], _V[2:], _V, -_V, n_permutations=-5),
         ValueError, r"n_permutations must be at least 1, got -5"),
    Case("bias/weat-dimensions-differ", lambda p: bias.weat_effect_size(_V, _V, _V[:, :3], _V),
         ValueError, r"the vectors must all have one dimension.*'a': 3"),
    Case("bias/association-one-vector", lambda p: bias.association(_V[0], _V, _V),
         ValueError, r"w must have 2 dimension\(s\), got shape \(5,\)"),
    # bias: fairness
    Case("bias/dp-nan-prediction", lambda p: bias.demographic_parity_difference([1, np.nan, 0, 1], ["a", "a", "b", "b"]),
         ValueError, r"y_pred holds 1 NaN or infinite"),
    Case("bias/dp-scores-not-labels", lambda p: bias.demographic_parity_difference([0.7, 0.2], ["a", "b"]),
         ValueError, r"y_pred must hold binary predictions .* got 0\.7: threshold"),
    Case("bias/dp-one-group", lambda p: bias.demographic_parity_difference([1, 0], ["a", "a"]),
         warns=UserWarning, match=r"groups holds one group only \('a'\).*difference is 0",
         check=lambda r, p: _expect(r == 0.0)),
    Case("bias/eo-one-class", lambda p: bias.equalized_odds_difference([1, 1, 1, 1], [1, 0, 1, 1], ["a", "a", "b", "b"]),
         ValueError, r"y_true holds one class only"),
    Case("bias/group-rates-missing-group", lambda p: bias.group_rates([1, 0], [1, 0], ["a", None]),
         ValueError, r"groups holds 1 missing value"),
    Case("bias/reweighing-nan-label", lambda p: bias.reweighing_weights([1.0, np.nan], ["a", "b"]),
         ValueError, r"y holds 1 missing label"),
    # bias: benchmarks and uncertainty
    Case("bias/bootstrap-zero-resamples", lambda p: bias.bootstrap_ci(np.mean, [1.0, 2.0], n_resamples=0),
         ValueError, r"n_resamples must be at least 1, got 0"),
    Case("bias/bootstrap-nan-statistic", lambda p: bias.bootstrap_ci(np.mean, [1.0, np.nan, 2.0], n_resamples=20),
         ValueError, r"statistic returned nan on bootstrap resample"),
    Case("bias/stereoset-nan-score", lambda p: bias.stereoset_metrics([0.1, np.nan], [0.2, 0.3], [0.0, 0.0]),
         ValueError, r"stereotype holds 1 NaN"),
    Case("bias/crows-metric-nan", lambda p: bias.crows_pairs_metric([np.nan, -1.0], [-2.0, -2.0]),
         ValueError, r"score_more holds 1 NaN"),
    Case("bias/icat-out-of-range", lambda p: bias.icat(90.0, 150.0),
         ValueError, r"ss must be at most 100\.0, got 150\.0"),
    Case("bias/masked-log-probs-position", lambda p: bias.masked_log_probs(None, [[2, 4, 3]], [5], [7]),
         ValueError, r"positions\[0\] = 5 is outside rows\[0\] \(3 tokens\)"),
    Case("bias/stereoset-scores-no-context", lambda p: bias.stereoset_scores(None, None, pd.DataFrame({"sentence": ["x"]})),
         ValueError, r"examples has no column\(s\) \['context', 'stereotype'.*load_stereoset"),
    Case("bias/gender-swap-none", lambda p: bias.gender_swap(None),
         TypeError, r"text must be a string, got None"),
    Case("bias/cda-none-doc", lambda p: bias.counterfactual_augment(["he runs", None]),
         TypeError, r"docs\[1\] is None"),
    # objectives
    Case("objectives/info-nce-nan-temperature", lambda p: objectives.info_nce(torch.eye(3), torch.eye(3), float("nan")),
         ValueError, r"temperature must be a finite number, got nan"),
    Case("objectives/nt-xent-empty-batch", lambda p: objectives.nt_xent(torch.zeros(0, 4), torch.zeros(0, 4)),
         ValueError, r"z1 is empty"),
    Case("objectives/nt-xent-nan-embedding", lambda p: objectives.nt_xent(torch.tensor([[np.nan, 1.0]]), torch.ones(1, 2)),
         ValueError, r"z1 holds 1 NaN"),
    Case("objectives/info-nce-positive-out-of-range", lambda p: objectives.info_nce(torch.eye(3), torch.eye(3), positives=torch.tensor([0, 1, 3])),
         ValueError, r"positives must be key indices in \[0, 3\)"),
    Case("objectives/mlm-loss-nothing-masked", lambda p: objectives.mlm_loss(torch.zeros(2, 3, 7), torch.full((2, 3), -100)),
         ValueError, r"labels: no masked token .*mean loss would be NaN"),
    Case("objectives/mlm-loss-label-outside-vocabulary", lambda p: objectives.mlm_loss(torch.zeros(1, 2, 7), torch.tensor([[3, 9]])),
         ValueError, r"labels holds token id 9, outside the model's vocabulary of 7"),
    Case("objectives/causal-lm-nothing-to-predict", lambda p: objectives.causal_lm_loss(torch.zeros(1, 3, 7), torch.tensor([[1, -100, -100]])),
         ValueError, r"labels: every next token is -100, nothing to predict .*leave some labels unmasked"),
    Case("objectives/unigram-zero-smoothing", lambda p: objectives.unigram_baseline(np.array([3, 0, 1]), np.array([1, -100]), smoothing=0.0),
         ValueError, r"never occurs in counts and smoothing is 0"),
    # evaluate
    Case("evaluate/accuracy-nan-prediction", lambda p: evaluate.accuracy([1.0, 0.0], [1.0, np.nan]),
         ValueError, r"y_pred holds missing labels"),
    Case("evaluate/metrics-label-outside-num-labels", lambda p: evaluate.classification_metrics([0, 1, 2], [0, 1, 1], num_labels=2),
         ValueError, r"with num_labels=2 the labels must be 0 \.\. 1, got 2"),
    Case("evaluate/sample-per-class-fractional-k", lambda p: evaluate.sample_per_class([0, 0, 1, 1], 1.5, seed=0),
         TypeError, r"k must be a whole number"),
    Case("evaluate/knn-nan-features", lambda p: evaluate.knn_predict(_with_nan(_V), [0, 1, 0, 1], _V, k=2),
         ValueError, r"x_train holds 1 NaN"),
    Case("evaluate/knn-zero-temperature", lambda p: evaluate.knn_predict(_V, [0, 1, 0, 1], _V, k=2, temperature=0.0),
         ValueError, r"temperature must be greater than 0"),
    Case("evaluate/probe-nan-C", lambda p: evaluate.LinearProbe(C=float("nan")),
         ValueError, r"C must be a finite number"),
    Case("evaluate/probe-one-class", _fit_one_class,
         ValueError, r"y holds one class only"),
    Case("evaluate/retrieval-relevant-out-of-range", lambda p: evaluate.retrieval_ranks(_V[:2], _V, [0, 4]),
         ValueError, r"relevant must be rows of documents, in \[0, 4\)"),
    Case("evaluate/recall-ks-not-a-list", lambda p: evaluate.recall_at_k(_V, _V, [0, 1, 2, 3], ks=5),
         ValueError, r"ks must be a non-empty sequence"),
    Case("evaluate/label-efficiency-zero-budget", _budget_zero,
         ValueError, r"each budget \(labels per class, or None for all\) must be at least 1, got 0"),
    Case("evaluate/labels-to-reach-nan", lambda p: evaluate.labels_to_reach([10, 100], [0.5, np.nan], 0.8),
         ValueError, r"accuracy holds 1 NaN"),
    # text
    Case("text/encode-corpus-none-text", lambda p: text.encode_corpus(["a film", None], None),
         TypeError, r"texts\[1\] is None"),
    Case("text/mask-tokens-nan-corruption", lambda p: text.mask_tokens(torch.ones(2, 4, dtype=torch.long), 4, 10, corruption=(float("nan"), 0.1)),
         ValueError, r"corruption\[0\] \(mask_fraction\) must be a finite number"),
    Case("text/masked-batches-zero-rows", lambda p: text.masked_batches(torch.ones(2, 4, dtype=torch.long), None, 0),
         ValueError, r"rows_per_batch must be at least 1, got 0"),
    Case("text/token-counts-id-outside-vocabulary", lambda p: text.token_counts(torch.tensor([[1, 12]]), 10),
         ValueError, r"rows holds token ids outside 0 \.\. 9"),
    Case("text/pack-too-short", _pack_short,
         warns=UserWarning, match=r"fewer than one row of seq_len=16: no row is returned",
         check=lambda r, p: _expect(tuple(r.shape) == (0, 16))),
    # vision
    Case("vision/jitter-probability", lambda p: vision.color_jitter(torch.rand(1, 3, 4, 4), p=1.5),
         ValueError, r"p must be at most 1\.0, got 1\.5"),
    Case("vision/augment-config-crop-scale", lambda p: vision.AugmentConfig(crop_scale=(0.5, 0.2)),
         ValueError, r"crop_scale must be \(lo, hi\) with lo <= hi"),
    Case("vision/crop-uint8-images", lambda p: vision.random_resized_crop(torch.zeros(2, 8, 8, 3, dtype=torch.uint8)),
         ValueError, r"x must be a float tensor of images \[B, C, H, W\].*to_float_images"),
    Case("vision/image-grid-zero-columns", lambda p: vision.image_grid(torch.rand(2, 3, 4, 4), nrow=0),
         ValueError, r"nrow must be at least 1, got 0"),
    # chapters 6-10
    Case("qa/exact-match-none-prediction", lambda p: qa.exact_match(None, ["Denver"]),
         TypeError, r"prediction must be a string"),
    Case("qa/squad-none-prediction", lambda p: qa.squad_scores(["Denver", None], [["Denver"], ["x"]]),
         TypeError, r"predictions\[1\] is None"),
    Case("detection/ap-iou-threshold", lambda p: detection.average_precision([([[0, 0, 1, 1]], [0.9])], [[[0, 0, 1, 1]]], iou_threshold=1.5),
         ValueError, r"iou_threshold must be at most 1\.0"),
    Case("generation/frechet-different-spaces", lambda p: generation.frechet_distance(_V, _V[:, :3]),
         ValueError, r"features1 and features2 must have the same d .* got 5 and 3"),
    Case("segmentation/margin-larger-than-image", lambda p: segmentation.predict_tiled(lambda t: t, torch.rand(1, 8, 8), 4, 4, margin=8),
         ValueError, r"margin \(8\) must be smaller than the image \(8 x 8\)"),
    Case("segmentation/tile-starts-float", lambda p: segmentation.tile_starts(64, 32.0, 16),
         TypeError, r"tile must be a whole number"),
    Case("ranking/hit-rate-bool-k", lambda p: ranking.hit_rate_at_k([1, 3], True),
         TypeError, r"k must be a whole number"),
    Case("calibration/ece-fractional-bins", lambda p: calibration.expected_calibration_error([0, 1], [0.2, 0.9], n_bins=2.5),
         TypeError, r"n_bins must be a whole number"),
    Case("scaling/flops-string", lambda p: scaling.training_flops("1e6", 1000),
         TypeError, r"parameters must be a number, got '1e6'"),
    Case("attribution/deletion-nan-scores", lambda p: attribution.deletion_curve(_nan_scores, [1, 0, 2]),
         ValueError, r"the scores score_fn returned holds 11 NaN"),
    Case("quantize/skip-unknown-module", _quantize_with_typo,
         ValueError, r"skip names no module of the model: \['head'\]"),
]

# fmt: on
# ---------------------------------------------------------------------------------------------

CASES = CHECKS_CASES + RUNTIME_DATA_CASES + MODEL_CASES + TRAINING_CASES + STATISTICS_CASES


def test_the_table_is_large_and_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "two cases share an id"
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case: Case, tmp_path: Path) -> None:
    if case.raises is not None:
        with pytest.raises(case.raises) as info:
            case.call(tmp_path)
        assert re.search(case.match, str(info.value)), f"unhelpful message: {info.value}"
        return
    if case.warns is not None:
        with pytest.warns(case.warns, match=case.match):
            result = case.call(tmp_path)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # correct input: no surprise warning
            result = case.call(tmp_path)
    assert case.check is not None, f"{case.id}: a case without raises needs a check"
    case.check(result, tmp_path)
