"""Tests of ptlib.vision (chapter 4): the batched augmentations, the ResNet encoder, the
SimCLR batches and loss, and a tiny pre-training run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptlib import contrastive, objectives, train, vision, weights


def _images(n: int = 8, seed: int = 0, size: int = 32) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8))


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


TINY = vision.ResNetConfig(widths=(8, 16), blocks=(1, 1), stem_channels=8)


# -- augmentations -----------------------------------------------------------------------------


def test_to_float_images_layout_and_range() -> None:
    x = _images(2)
    f = vision.to_float_images(x)
    assert f.shape == (2, 3, 32, 32) and f.dtype == torch.float32
    assert f[1, 2, 5, 7].item() == pytest.approx(x[1, 5, 7, 2].item() / 255)
    assert vision.to_float_images(f) is not None and torch.equal(vision.to_float_images(f), f)
    with pytest.raises(ValueError):
        vision.to_float_images(torch.zeros(3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError):
        vision.to_float_images(torch.zeros(1, 3, 4, 4, dtype=torch.int64))


def test_full_crop_is_the_identity_and_flip_is_folded_in() -> None:
    x = vision.to_float_images(_images(4))
    same = vision.random_resized_crop(x, scale=(1.0, 1.0), ratio=(1.0, 1.0), generator=_gen())
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)
    mirrored = vision.random_resized_crop(
        x, scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_p=1.0, generator=_gen()
    )
    torch.testing.assert_close(mirrored, x.flip(-1), atol=1e-5, rtol=0)


def test_crop_resizes_interpolates_and_varies_per_image() -> None:
    x = vision.to_float_images(_images(16))
    out = vision.random_resized_crop(x, size=24, scale=(0.1, 0.5), generator=_gen(1))
    assert out.shape == (16, 3, 24, 24)
    assert out.min() >= x.min() - 1e-6 and out.max() <= x.max() + 1e-6  # bilinear: convex mix
    const = torch.full((3, 3, 32, 32), 0.25)
    torch.testing.assert_close(vision.random_resized_crop(const, generator=_gen()), const)
    # the same image, cropped 16 times, gives 16 different crops
    rep = x[:1].expand(16, -1, -1, -1)
    crops = vision.random_resized_crop(rep, scale=(0.2, 0.5), generator=_gen(2)).flatten(1)
    assert torch.cdist(crops, crops).add(torch.eye(16)).min() > 0


def test_random_flip_probabilities() -> None:
    x = vision.to_float_images(_images(64))
    assert torch.equal(vision.random_flip(x, 0.0, _gen()), x)
    assert torch.equal(vision.random_flip(x, 1.0, _gen()), x.flip(-1))
    out = vision.random_flip(x, 0.5, _gen(3))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert bool((flipped | kept).all()) and 16 <= int(flipped.sum()) <= 48


def test_grayscale_uses_luma_and_random_grayscale() -> None:
    x = torch.zeros(1, 3, 2, 2)
    x[0, 0], x[0, 1], x[0, 2] = 1.0, 0.5, 0.25
    assert vision.grayscale(x)[0, 0, 0, 0].item() == pytest.approx(0.299 + 0.587 / 2 + 0.114 / 4)
    y = vision.random_grayscale(vision.to_float_images(_images(4)), p=1.0, generator=_gen())
    assert torch.allclose(y[:, 0], y[:, 1]) and torch.allclose(y[:, 1], y[:, 2])
    x8 = vision.to_float_images(_images(4))
    assert torch.equal(vision.random_grayscale(x8, p=0.0, generator=_gen()), x8)


def test_hue_matrix_is_a_rotation_that_keeps_luma_and_gray() -> None:
    shifts = torch.tensor([0.0, 0.1, -0.3, 1.0])
    m = vision.hue_matrix(shifts)
    torch.testing.assert_close(m[0], torch.eye(3), atol=1e-6, rtol=0)
    torch.testing.assert_close(m[3], torch.eye(3), atol=1e-5, rtol=0)  # a full turn
    gray = torch.ones(3)
    torch.testing.assert_close(m @ gray, gray.expand(4, 3), atol=1e-5, rtol=0)
    luma = torch.tensor([0.299, 0.587, 0.114])
    torch.testing.assert_close(luma @ m, luma.expand(4, 3), atol=1e-5, rtol=0)
    both = vision.hue_matrix(torch.tensor([0.4]))
    torch.testing.assert_close(
        m[1] @ vision.hue_matrix(torch.tensor([0.3]))[0], both[0], atol=1e-5, rtol=0
    )


def test_color_jitter_properties() -> None:
    x = vision.to_float_images(_images(32))
    assert torch.equal(vision.color_jitter(x, p=0.0, generator=_gen()), x)
    out = vision.color_jitter(x, generator=_gen(4))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    # the same generator gives the same output
    assert torch.equal(out, vision.color_jitter(x, generator=_gen(4)))
    assert not torch.equal(out, vision.color_jitter(x, generator=_gen(5)))
    # brightness alone scales every pixel of an image by one factor in [0.6, 1.4]
    mid = x * 0.4 + 0.3  # 1.4 * 0.7 < 1: nothing is clipped
    bright = vision.color_jitter(mid, 0.4, 0.0, 0.0, 0.0, p=1.0, generator=_gen(6))
    ratio = (bright / mid).flatten(1)
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-5)
    assert ratio.min() >= 0.6 - 1e-5 and ratio.max() <= 1.4 + 1e-5
    # contrast alone keeps the mean luma of an image (nothing saturates in the middle range)
    mid = x * 0.2 + 0.4
    con = vision.color_jitter(mid, 0.0, 0.4, 0.0, 0.0, p=1.0, generator=_gen(7))
    torch.testing.assert_close(
        vision.grayscale(con).mean((1, 2, 3)),
        vision.grayscale(mid).mean((1, 2, 3)),
        atol=1e-5,
        rtol=0,
    )
    # a gray image stays gray under any jitter
    gray = vision.grayscale(x).expand(-1, 3, -1, -1)
    g_out = vision.color_jitter(gray, p=1.0, generator=_gen(8))
    torch.testing.assert_close(g_out[:, 0], g_out[:, 1], atol=1e-5, rtol=0)
    torch.testing.assert_close(g_out[:, 1], g_out[:, 2], atol=1e-5, rtol=0)


def test_augment_makes_two_different_views_reproducibly() -> None:
    x = _images(8)
    g = _gen(9)
    v1, v2 = vision.augment(x, generator=g), vision.augment(x, generator=g)
    assert v1.shape == v2.shape == (8, 3, 32, 32) and v1.dtype == torch.float32
    assert 0 <= v1.min() and v1.max() <= 1 and not torch.equal(v1, v2)
    assert torch.equal(vision.augment(x, generator=_gen(9)), v1)
    small = vision.augment(x, vision.AugmentConfig(size=24), generator=_gen())
    assert small.shape == (8, 3, 24, 24)
    a, b = contrastive.two_views(x, _gen(9))
    assert torch.equal(a, v1) and torch.equal(b, v2)


def test_image_grid_tiles_images() -> None:
    grid = vision.image_grid(_images(5), nrow=3, pad=2)
    assert grid.shape == (2 * 34 + 2, 3 * 34 + 2, 3)
    assert grid.min() >= 0 and grid.max() <= 1 and grid[0, 0, 0] == 1.0  # white padding


# -- model ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "dim", "spatial"),
    [(vision.RESNET_SMALL, 256, 2), (TINY, 16, 8), (vision.RESNET18, 512, 4)],
)
def test_resnet_shapes(config: vision.ResNetConfig, dim: int, spatial: int) -> None:
    torch.manual_seed(0)
    enc = vision.ResNet(config).eval()
    x = torch.rand(2, 3, 32, 32)
    assert enc.dim == dim and enc(x).shape == (2, dim)
    # the last stage works on spatial x spatial maps
    feat = enc.layers(enc.stem((x - enc.mean) / enc.std))
    assert feat.shape[-1] == spatial
    model = vision.SimCLR(enc, dim_hidden=32, dim_out=8).eval()
    assert model(x).shape == (2, 8)
    assert vision.Classifier(enc, 10)(x).shape == (2, 10)


def test_resnet_sizes_and_config_round_trip() -> None:
    assert 1.0e6 < weights.count_parameters(vision.ResNet(vision.RESNET_SMALL)) < 1.5e6
    assert 11.0e6 < weights.count_parameters(vision.ResNet(vision.RESNET18)) < 11.5e6  # ResNet-18
    d = vision.RESNET18.to_dict()
    assert vision.ResNetConfig.from_dict(d) == vision.RESNET18
    with pytest.raises(ValueError):
        vision.ResNetConfig(widths=(8, 16), blocks=(1,))
    cfg = contrastive.SimCLRConfig(
        encoder=TINY, augment=vision.AugmentConfig(size=24), max_seconds=5
    )
    assert contrastive.SimCLRConfig.from_dict(cfg.to_dict()) == cfg


def test_features_are_eval_mode_representations() -> None:
    torch.manual_seed(0)
    enc = vision.ResNet(TINY)
    enc.train()
    x = _images(6)
    f = vision.features(enc, x, batch_size=4, bf16=False)
    assert f.shape == (6, 16) and f.dtype == np.float32
    assert enc.training  # mode restored
    with torch.no_grad():
        expected = enc.eval()(vision.to_float_images(x)).numpy()
    np.testing.assert_allclose(f, expected, rtol=1e-4, atol=1e-5)
    assert vision.features(enc, x[:0]).shape == (0, 16)


# -- SimCLR training ---------------------------------------------------------------------------


def test_epoch_batches_visit_every_image_once_per_epoch() -> None:
    x = _images(10)
    y = torch.arange(10)
    batches = train.EpochBatches(x, 3, seed=1, labels=y)
    assert batches.per_epoch == 3
    seen = torch.cat([batches(s)[1] for s in range(3)])
    assert len(set(seen.tolist())) == 9  # one image dropped, none twice
    imgs, labels, step = batches(4)
    assert torch.equal(imgs, x[labels]) and int(step) == 4
    again = train.EpochBatches(x, 3, seed=1, labels=y)
    assert torch.equal(again(4)[1], labels)  # depends only on seed and step
    assert not torch.equal(torch.cat([batches(s)[1] for s in range(3, 6)]), seen)
    assert len(train.EpochBatches(x, 50)(0)[0]) == 10
    with pytest.raises(ValueError):
        train.EpochBatches(x, 3, labels=y[:5])


def test_simclr_loss_fn_is_nt_xent_of_the_steps_views() -> None:
    torch.manual_seed(0)
    model = vision.SimCLR(vision.ResNet(TINY), 32, 8).eval()
    x = _images(6)
    loss_fn = contrastive.simclr_loss_fn(0.5, seed=3, channels_last=False)
    batch = (x, torch.tensor(7))
    loss = loss_fn(model, batch)
    v1, v2 = contrastive.two_views(x, vision.step_generator(3, 7))
    with torch.no_grad():
        z1, z2 = model(torch.cat([v1, v2])).chunk(2)
    assert loss.item() == pytest.approx(objectives.nt_xent(z1, z2, 0.5).item(), rel=1e-5)
    assert loss_fn(model, (x, torch.tensor(8))).item() != pytest.approx(loss.item())


def test_pretrain_simclr_is_repeatable_and_updates_the_weights() -> None:
    x = _images(64)
    cfg = contrastive.SimCLRConfig(
        encoder=TINY,
        batch_size=32,
        proj_hidden=32,
        proj_dim=16,
        lr=3e-3,
        warmup_steps=2,
        max_steps=4,
        max_seconds=None,
        device="cpu",
        progress=False,
    )
    model, history = contrastive.pretrain_simclr(x, cfg)
    assert list(history["step"]) == [1, 2, 3, 4]
    assert history["lr"].iloc[0] == pytest.approx(cfg.lr / 2)  # warm-up
    assert not model.training
    _, again = contrastive.pretrain_simclr(x, cfg)
    np.testing.assert_allclose(history["train_loss"], again["train_loss"], rtol=1e-5)
    fresh = vision.SimCLR(vision.ResNet(TINY), 32, 16)
    assert not torch.equal(fresh.encoder.stem[0].weight, model.encoder.stem[0].weight)


# -- saving and loading the encoder (ptlib.contrastive) ---------------------------------------------


def test_save_and_load_simclr_encoder_round_trip(tmp_path) -> None:

    torch.manual_seed(0)
    enc = vision.ResNet(TINY).to(memory_format=torch.channels_last)
    enc.train()
    enc(torch.rand(4, 3, 32, 32))  # move the batch-norm statistics away from their defaults
    folder = contrastive.save_simclr_encoder(enc, tmp_path / "enc", {"linear_probe_acc": 0.5})
    assert (folder / "model.safetensors").is_file()
    assert contrastive.simclr_metadata(folder) == {"linear_probe_acc": 0.5}
    loaded = contrastive.load_simclr_encoder(folder, train_if_missing=False, device="cpu")
    assert not loaded.training and loaded.config == TINY
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), enc.eval()(x))
    assert contrastive.simclr_metadata(tmp_path / "nothing") == {}


def test_load_simclr_encoder_verifies_a_manifest(tmp_path) -> None:
    from ptlib import checksums

    folder = contrastive.save_simclr_encoder(vision.ResNet(TINY), tmp_path / "enc")
    checksums.write_manifest(folder, "a test", "MIT")
    contrastive.load_simclr_encoder(folder, train_if_missing=False, device="cpu")  # verified, loads
    (folder / "config.json").write_text((folder / "config.json").read_text() + " ")
    with pytest.raises(checksums.ManifestError, match="config.json is corrupted"):
        contrastive.load_simclr_encoder(folder, train_if_missing=False, device="cpu")


def test_load_simclr_encoder_trains_when_missing(tmp_path, monkeypatch) -> None:

    monkeypatch.setenv("PTLIB_CACHE_DIR", str(tmp_path))
    assert contrastive.simclr_dir() == tmp_path / "models" / contrastive.SIMCLR_NAME
    with pytest.raises(weights.WeightsError, match="no SimCLR encoder"):
        contrastive.load_simclr_encoder(train_if_missing=False)
    cfg = contrastive.SimCLRConfig(
        encoder=TINY,
        batch_size=16,
        proj_hidden=16,
        proj_dim=8,
        max_steps=2,
        max_seconds=None,
        warmup_steps=0,
        device="cpu",
        progress=False,
    )
    enc = contrastive.load_simclr_encoder(config=cfg, images=_images(32), device="cpu")
    assert isinstance(enc, vision.ResNet) and enc.config == TINY
    meta = contrastive.simclr_metadata()
    assert meta["steps"] == 2 and meta["simclr_config"]["batch_size"] == 16
    again = contrastive.load_simclr_encoder(
        train_if_missing=False, device="cpu"
    )  # now it is cached
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(again(x), enc(x))
