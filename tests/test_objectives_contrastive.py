"""Tests of the contrastive losses in ptlib.objectives (chapter 4): InfoNCE and NT-Xent against
naive loops and the cross-entropy formulation, and the properties the chapter derives."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ptlib import objectives


def _naive_nt_xent(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> torch.Tensor:
    """Equation eq-infonce term by term, with views numbered 2m-1, 2m as in the book."""
    n = z1.shape[0]
    views = []
    for m in range(n):  # interleave: (z1[0], z2[0], z1[1], z2[1], ...)
        views += [z1[m], z2[m]]

    def sim(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return (u @ v) / (u.norm() * v.norm())

    losses = []
    for i in range(2 * n):
        j = i + 1 if i % 2 == 0 else i - 1  # the other view of the same example
        numerator = torch.exp(sim(views[i], views[j]) / tau)
        denominator = sum(torch.exp(sim(views[i], views[k]) / tau) for k in range(2 * n) if k != i)
        losses.append(-torch.log(numerator / denominator))
    return torch.stack(losses)  # interleaved order


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0])
def test_nt_xent_equals_naive_double_loop(tau: float) -> None:
    g = torch.Generator().manual_seed(0)
    z1, z2 = (
        torch.randn(6, 5, generator=g, dtype=torch.float64),
        torch.randn(6, 5, generator=g, dtype=torch.float64),
    )
    naive = _naive_nt_xent(z1, z2, tau)
    assert objectives.nt_xent(z1, z2, tau).item() == pytest.approx(naive.mean().item(), rel=1e-10)
    per_view = objectives.nt_xent(z1, z2, tau, reduction="none")  # order [z1; z2]
    interleaved = torch.stack([per_view[:6], per_view[6:]], dim=1).reshape(-1)
    torch.testing.assert_close(interleaved, naive)


def test_nt_xent_equals_cross_entropy_over_the_other_views() -> None:
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g)
    tau, n = 0.3, 4
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sims = z @ z.T / tau
    losses = []
    for i in range(2 * n):
        others = [k for k in range(2 * n) if k != i]  # 2N - 1 candidates
        target = others.index((i + n) % (2 * n))
        losses.append(F.cross_entropy(sims[i, others].unsqueeze(0), torch.tensor([target])))
    expected = torch.stack(losses).mean()
    assert objectives.nt_xent(z1, z2, tau).item() == pytest.approx(expected.item(), rel=1e-5)


def test_nt_xent_is_symmetric_and_permutation_invariant() -> None:
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(10, 16, generator=g), torch.randn(10, 16, generator=g)
    loss = objectives.nt_xent(z1, z2, 0.5)
    # swapping the two views of every pair changes nothing
    assert objectives.nt_xent(z2, z1, 0.5).item() == pytest.approx(loss.item(), rel=1e-6)
    # reordering the pairs changes nothing, and permutes the per-view losses the same way
    perm = torch.randperm(10, generator=g)
    assert objectives.nt_xent(z1[perm], z2[perm], 0.5).item() == pytest.approx(
        loss.item(), rel=1e-6
    )
    per_view = objectives.nt_xent(z1, z2, 0.5, reduction="none")
    permuted = objectives.nt_xent(z1[perm], z2[perm], 0.5, reduction="none")
    torch.testing.assert_close(permuted, torch.cat([per_view[:10][perm], per_view[10:][perm]]))


def test_nt_xent_ignores_the_length_of_the_embeddings() -> None:
    g = torch.Generator().manual_seed(3)
    z1, z2 = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    scale = torch.rand(5, 1, generator=g) * 10 + 0.1
    assert objectives.nt_xent(z1 * scale, z2, 0.2).item() == pytest.approx(
        objectives.nt_xent(z1, z2, 0.2).item(), rel=1e-5
    )


def test_nt_xent_closed_forms_and_log_bound() -> None:
    n, tau = 4, 0.5
    # all embeddings equal: every candidate is as likely, the loss is log(2N - 1)
    same = torch.ones(n, 3)
    assert objectives.nt_xent(same, same, tau).item() == pytest.approx(math.log(2 * n - 1))
    # identical views, orthogonal examples: exp(1/tau) / (exp(1/tau) + 2N - 2)
    eye = torch.eye(n)
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 2 * n - 2))
    assert objectives.nt_xent(eye, eye, tau).item() == pytest.approx(expected, rel=1e-6)
    # a lower temperature makes the perfect solution's loss smaller
    assert objectives.nt_xent(eye, eye, 0.1) < objectives.nt_xent(eye, eye, 1.0)
    # the loss is never negative
    g = torch.Generator().manual_seed(4)
    assert objectives.nt_xent(torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)) > 0


def test_nt_xent_gradient_and_bf16() -> None:
    g = torch.Generator().manual_seed(5)
    z1 = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: objectives.nt_xent(a, b, 0.5), (z1, z2))
    lo = objectives.nt_xent(z1.detach().bfloat16(), z2.detach().bfloat16(), 0.5)
    assert lo.dtype == torch.float32
    assert lo.item() == pytest.approx(objectives.nt_xent(z1, z2, 0.5).item(), abs=0.02)


def test_nt_xent_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="temperature"):
        objectives.nt_xent(torch.ones(2, 3), torch.ones(2, 3), 0.0)
    with pytest.raises(ValueError, match=r"\[N, d\]"):
        objectives.nt_xent(torch.ones(2, 3), torch.ones(3, 3))
    with pytest.raises(ValueError, match="reduction"):
        objectives.nt_xent(torch.ones(2, 3), torch.ones(2, 3), reduction="sum")


def test_info_nce_equals_naive_loop_and_mnrl() -> None:
    g = torch.Generator().manual_seed(6)
    q, k = (
        torch.randn(5, 6, generator=g, dtype=torch.float64),
        torch.randn(7, 6, generator=g, dtype=torch.float64),
    )
    positives = torch.tensor([0, 2, 4, 6, 1])
    tau = 0.05
    cos = F.cosine_similarity(q.unsqueeze(1), k.unsqueeze(0), dim=-1)  # [5, 7]
    naive = torch.stack(
        [
            -torch.log(torch.exp(cos[i, positives[i]] / tau) / torch.exp(cos[i] / tau).sum())
            for i in range(5)
        ]
    ).mean()
    assert objectives.info_nce(q, k, tau, positives).item() == pytest.approx(
        naive.item(), rel=1e-10
    )
    # in-batch negatives (positives = the diagonal), as sentence-transformers'
    # MultipleNegativesRankingLoss computes it: cross-entropy of scale * cos_sim, scale = 1 / tau
    scores = cos[:, :5] * 20.0
    mnrl = F.cross_entropy(scores, torch.arange(5))
    assert objectives.info_nce(q, k[:5]).item() == pytest.approx(mnrl.item(), rel=1e-10)
    sym = (mnrl + F.cross_entropy(scores.T, torch.arange(5))) / 2
    assert objectives.info_nce(q, k[:5], symmetric=True).item() == pytest.approx(
        sym.item(), rel=1e-10
    )


def test_info_nce_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="temperature"):
        objectives.info_nce(torch.ones(2, 3), torch.ones(2, 3), temperature=-1)
    with pytest.raises(ValueError, match="as many queries"):
        objectives.info_nce(torch.ones(2, 3), torch.ones(3, 3), symmetric=True)
    with pytest.raises(ValueError, match="positives"):
        objectives.info_nce(
            torch.ones(2, 3), torch.ones(2, 3), positives=torch.tensor([0, 1]), symmetric=True
        )


def test_cosine_similarity_matrix_and_contrastive_accuracy() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    b = torch.tensor([[3.0, 0.0], [1.0, 1.0], [0.0, -1.0]])
    expected = torch.tensor([[1.0, 2**-0.5, 0.0], [0.0, 2**-0.5, -1.0]])
    torch.testing.assert_close(objectives.cosine_similarity_matrix(a, b), expected)
    eye = torch.eye(4)
    assert objectives.contrastive_accuracy(eye, eye) == 1.0
    # the partner is the most similar view for the first two pairs only
    z2 = torch.stack([eye[0], eye[1], eye[3], eye[2]])
    assert objectives.contrastive_accuracy(eye, z2) == pytest.approx(0.5)
