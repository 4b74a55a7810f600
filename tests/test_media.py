"""Tests of flexjudge.media: preprocessing parity rules, decoding, errors, hashing, base64."""

from __future__ import annotations

import base64
import hashlib
import math
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from flexjudge import media
from flexjudge.errors import InputError, MediaError, MissingDependencyError
from flexjudge.media import (
    Audio,
    AudioPrep,
    Image,
    ImagePrep,
    Molecule,
    Video,
    VideoPrep,
)

# -- helpers ------------------------------------------------------------------------------------


def palette_png(path: Path, size: tuple[int, int] = (50, 30)) -> Path:
    """A palette (mode P) PNG with random pixels over a 16-colour palette."""
    rng = np.random.RandomState(0)
    img = PIL.Image.fromarray(rng.randint(0, 16, size[::-1]).astype(np.uint8), "P")
    img.putpalette([int(v) for v in rng.randint(0, 256, 16 * 3)] + [0] * (768 - 48))
    img.save(path)
    return path


def rgb_jpeg(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    arr = np.random.RandomState(1).randint(0, 256, (size[1], size[0], 3)).astype(np.uint8)
    PIL.Image.fromarray(arr).save(path, format="JPEG", quality=90)
    return path


def write_mp4(path: Path, frames: int = 30, fps: int = 10, h: int = 64, w: int = 96) -> Path:
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            arr = np.zeros((h, w, 3), np.uint8)
            arr[..., 0] = (i * 8) % 256
            arr[:, : (i * 3) % w, 1] = 200
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_wav(path: Path, rate: int, seconds: float = 0.1, channels: int = 1) -> np.ndarray:
    sf = pytest.importorskip("soundfile")
    t = np.arange(int(rate * seconds)) / rate
    mono = 0.9 * np.sin(2 * np.pi * 440 * t)
    data = np.stack([mono, -0.5 * mono], axis=1) if channels == 2 else mono
    sf.write(path, data, rate, subtype="PCM_16")
    read, _ = sf.read(path)
    return np.asarray(read)


def assert_media_error(exc: pytest.ExceptionInfo[MediaError], path: Path | str) -> None:
    assert str(path) in str(exc.value)
    assert exc.value.path == str(path)


# -- images -------------------------------------------------------------------------------------


def test_mllm_reference_squash_converts_palette_to_rgb_first(tmp_path: Path) -> None:
    path = palette_png(tmp_path / "p.png")
    out = Image(path).prepare(media.IMAGE_MLLM_JUDGE)
    with PIL.Image.open(path) as im:
        expected = im.convert("RGB").resize((448, 448))  # the reference code, verbatim
    assert out.mode == "RGB" and out.size == (448, 448)
    assert np.array_equal(np.asarray(out), np.asarray(expected))


def test_mj_bench_resizes_palette_nearest(tmp_path: Path) -> None:
    path = palette_png(tmp_path / "p.png")
    img = Image.from_path(path)
    assert img.open().mode == "P"
    out = img.prepare(media.IMAGE_MJ_BENCH)
    with PIL.Image.open(path) as im:
        expected = im.resize((336, 336), PIL.Image.Resampling.NEAREST).convert("RGB")
        palette_colours = {tuple(c) for c in np.asarray(im.convert("RGB")).reshape(-1, 3)}
    assert out.mode == "RGB" and out.size == (336, 336)
    assert np.array_equal(np.asarray(out), np.asarray(expected))
    # nearest-neighbour: no new colours; the RGB-first path blends colours bicubically
    assert {tuple(c) for c in np.asarray(out).reshape(-1, 3)} <= palette_colours
    mixed = img.prepare(ImagePrep(336, convert_rgb_before_resize=True))
    assert not {tuple(c) for c in np.asarray(mixed).reshape(-1, 3)} <= palette_colours


def test_native_and_tuple_sizes_and_rgba(tmp_path: Path) -> None:
    rgba = PIL.Image.new("RGBA", (40, 20), (10, 20, 30, 128))
    img = Image.from_pil(rgba)
    native = img.prepare(media.IMAGE_NATIVE)
    assert native.mode == "RGB" and native.size == (40, 20)
    assert img.load().size == (40, 20)
    assert img.prepare(ImagePrep((30, 10))).size == (30, 10)  # (width, height)
    genai = img.prepare(media.IMAGE_GENAI_BENCH)
    assert genai.size == (448, 448) and genai.mode == "RGB"
    assert rgba.mode == "RGBA" and rgba.size == (40, 20)  # input untouched
    assert native is not img.prepare(media.IMAGE_NATIVE)  # fresh copies
    with pytest.raises(InputError):
        ImagePrep(0)


def test_image_sources_agree_and_hash(tmp_path: Path) -> None:
    path = rgb_jpeg(tmp_path / "x.jpg")
    data = path.read_bytes()
    from_path, from_bytes = Image(path), Image.from_bytes(data)
    assert from_path.content_hash() == from_bytes.content_hash() == hashlib.sha256(data).hexdigest()
    assert Image(str(path)).content_hash() == from_path.content_hash()
    a, b = np.asarray(from_path.load()), np.asarray(from_bytes.load())
    assert np.array_equal(a, b)
    from_array = Image.from_array(a)
    assert np.array_equal(np.asarray(from_array.load()), a)
    pil_hash = Image.from_pil(PIL.Image.fromarray(a)).content_hash()
    assert pil_hash == Image.from_pil(PIL.Image.fromarray(a.copy())).content_hash()
    b2 = a.copy()
    b2[0, 0, 0] ^= 1
    assert Image.from_array(b2).content_hash() != pil_hash
    assert from_path.size == (64, 48)
    assert media.as_image(path).path == path and media.as_image(from_path) is from_path
    uri = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    assert media.as_image(uri).content_hash() == from_path.content_hash()


def test_image_errors_name_the_path(tmp_path: Path) -> None:
    jpeg = rgb_jpeg(tmp_path / "full.jpg", size=(256, 256))
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(jpeg.read_bytes()[:600])
    with pytest.raises(MediaError) as err:
        Image(truncated, record="r1", field="image").load()
    assert_media_error(err, truncated)
    assert err.value.record == "r1" and err.value.field == "image"
    assert isinstance(err.value.__cause__, Exception)

    junk = tmp_path / "junk.png"
    junk.write_bytes(np.random.RandomState(0).bytes(500))
    with pytest.raises(MediaError, match="not a recognised image format") as err:
        Image(junk).prepare(media.IMAGE_MLLM_JUDGE)
    assert_media_error(err, junk)

    missing = tmp_path / "missing.png"
    with pytest.raises(MediaError, match="not found") as err:
        Image(missing).load()
    assert_media_error(err, missing)

    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(MediaError, match="unsupported image file extension") as err:
        Image(text).load()
    assert_media_error(err, text)

    with pytest.raises(MediaError, match="uint8"):
        Image.from_array(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(MediaError, match="shape"):
        Image.from_array(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(MediaError):
        Image.from_bytes(b"not an image").validate()
    with pytest.raises(InputError):
        media.as_image(3.5)


def test_check_image_limits(tmp_path: Path) -> None:
    path = rgb_jpeg(tmp_path / "x.jpg", size=(64, 48))
    assert media.check_image_limits(path, max_pixels=64 * 48) == (64, 48)
    with pytest.raises(InputError, match="over the limit") as err:
        media.check_image_limits(Image(path, record="r9"), max_pixels=1000)
    assert err.value.record == "r9" and not isinstance(err.value, MediaError)
    with pytest.raises(InputError, match="side"):
        media.check_image_limits(PIL.Image.new("RGB", (10, 100)), 10**6, max_side=50)


# -- video: sampling rules --------------------------------------------------------------------


def test_reference_video_rules_known_values() -> None:
    prep = media.VIDEO_GENAI_BENCH
    assert media.frame_size(224, 224, 8, prep) == (336, 336)  # upscaled to the video minimum
    assert media.frame_size(512, 512, 8, prep) == (224, 224)
    assert media.smart_nframes(70, 10.0, prep) == 8  # 7 frames → round-to-even (0.0.8) → 8
    assert media.smart_nframes(30, 10.0, prep) == 4  # clamped to min_frames
    assert media.smart_nframes(3, 30.0, prep) == 2  # floor_even(min(768, 3))
    assert media.smart_nframes(100_000, 1.0, prep) == 768
    with pytest.raises(InputError):
        media.smart_nframes(1, 30.0, prep)


def test_sampling_matches_qwen_vl_utils() -> None:
    vp = pytest.importorskip("qwen_vl_utils.vision_process")
    torch = pytest.importorskip("torch")
    for total, native_fps, fps in [
        (300, 30.0, 1.0), (241, 24.0, 1.0), (90, 30.0, 2.0), (10, 25.0, 1.0),
        (5000, 29.97, 1.0), (49, 8.0, 1.0), (1200, 60.0, 0.5), (3, 30.0, 1.0),
    ]:  # fmt: skip
        ours = media.smart_nframes(total, native_fps, VideoPrep(fps=fps))
        theirs = vp.smart_nframes({"fps": fps}, total_frames=total, video_fps=native_fps)
        raw = min(max(total / native_fps * fps, 4), 2 * (min(768, total) // 2))
        # 0.0.14 floors to even where 0.0.8 (the reference) rounds: equal unless it rounds up
        assert ours == (theirs + 2 if round(raw / 2) > math.floor(raw / 2) else theirs)
        idx = media.sample_indices(total, ours)
        assert np.array_equal(idx, torch.linspace(0, total - 1, ours).round().long().numpy())
    # a case where float32 torch.linspace and float64 numpy round differently
    torch_idx = torch.linspace(0, 19652, 584).round().long().numpy()
    assert np.array_equal(media.sample_indices(19653, 584, "torch"), torch_idx)
    assert np.abs(media.sample_indices(19653, 584, "pil") - torch_idx).max() <= 1

    for h, w in [(224, 224), (512, 512), (480, 640), (1080, 1920), (100, 30), (57, 85)]:
        for lo, hi in [
            (4 * 28 * 28, 16384 * 28 * 28),
            (128 * 28 * 28, 768 * 28 * 28),
            (3136, 50176),
        ]:
            assert media.smart_resize(h, w, factor=28, min_pixels=lo, max_pixels=hi) == (
                vp.smart_resize(h, w, factor=28, min_pixels=lo, max_pixels=hi)
            )


def test_frame_resize_matches_torchvision() -> None:
    tf = pytest.importorskip("torchvision.transforms.functional")
    torch = pytest.importorskip("torch")
    frames = np.random.RandomState(2).randint(0, 256, (3, 50, 70, 3)).astype(np.uint8)
    for size in [(28, 56), (112, 140)]:  # down- and up-scaling
        ours = media.resize_frames(frames, size, "torch")
        tensor = torch.from_numpy(frames).permute(0, 3, 1, 2)
        ref = tf.resize(tensor, list(size), tf.InterpolationMode.BICUBIC, antialias=True)
        assert np.array_equal(ours, ref.permute(0, 2, 3, 1).numpy())
        pil = media.resize_frames(frames, size, "pil")
        assert pil.shape == ours.shape
        assert np.abs(pil.astype(int) - ours.astype(int)).mean() < 8


# -- video: decoding ---------------------------------------------------------------------------


def test_video_file_prepare(tmp_path: Path) -> None:
    path = write_mp4(tmp_path / "v.mp4", frames=30, fps=10, h=64, w=96)
    video = Video(path)
    info = video.info()
    assert (info.total_frames, info.fps, info.height, info.width) == (30, 10.0, 64, 96)
    out = video.prepare(media.VIDEO_GENAI_BENCH)
    assert out.frames.dtype == np.uint8 and out.frames.shape == (4, 280, 392, 3)
    assert out.sampled_indices.tolist() == [0, 10, 19, 29]
    assert out.fps == pytest.approx(4 / 30 * 10) and out.total_frames == 30
    every = video.load()
    assert every.frames.shape == (30, 64, 96, 3) and every.fps == 10.0
    # same pipeline on decoded frames held in memory gives the same result
    mem = Video.from_frames(every.frames, fps=10.0).prepare(media.VIDEO_GENAI_BENCH)
    assert np.array_equal(mem.frames, out.frames)
    assert Video.from_bytes(path.read_bytes()).content_hash() == video.content_hash()
    assert media.as_video(str(path)).prepare(VideoPrep(fps=2.0)).num_frames == 6


def test_in_memory_video_and_errors(tmp_path: Path) -> None:
    frames = np.zeros((8, 30, 40, 3), np.uint8)
    video = media.as_video(frames, fps=4.0)
    out = video.prepare(VideoPrep(fps=1.0, min_frames=2, max_pixels=28 * 28 * 4, min_pixels=1))
    assert out.num_frames == 2 and out.size == (28, 28)
    assert video.content_hash() == Video.from_frames(frames.copy(), 4.0).content_hash()
    assert video.content_hash() != Video.from_frames(frames, 5.0).content_hash()
    assert media.as_video([PIL.Image.new("RGB", (40, 30))] * 4, fps=2.0).info().total_frames == 4
    with pytest.raises(MediaError, match="fps"):
        Video(frames)
    with pytest.raises(MediaError, match="uint8"):
        Video.from_frames(frames.astype(np.float32), 4.0)
    with pytest.raises(MediaError, match=r"\(T, H, W, 3\)"):
        Video.from_frames(frames[..., :2], 4.0)
    with pytest.raises(MediaError, match="no frames"):
        Video.from_frames(frames[:0], 4.0)
    with pytest.raises(MediaError, match="at least 2"):
        Video.from_frames(frames[:1], 4.0).prepare()

    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.RandomState(0).bytes(2000))
    with pytest.raises(MediaError, match="cannot read video") as err:
        Video(junk, record="r2").prepare()
    assert_media_error(err, junk)
    assert err.value.record == "r2" and err.value.__cause__ is not None
    missing = tmp_path / "missing.mp4"
    with pytest.raises(MediaError, match="not found") as err:
        Video(missing).prepare()
    assert_media_error(err, missing)
    odd = tmp_path / "clip.xyz"
    odd.write_bytes(b"abc")
    with pytest.raises(MediaError, match="unsupported video file extension") as err:
        Video(odd).info()
    assert_media_error(err, odd)
    wav = tmp_path / "sound.wav"
    write_wav(wav, 16000)
    with pytest.raises(MediaError, match="no video stream"):
        Video.from_bytes(wav.read_bytes()).prepare()
    one = write_mp4(tmp_path / "one.mp4", frames=1)
    with pytest.raises(MediaError, match="at least 2") as err:
        Video(one).prepare()
    assert_media_error(err, one)


# -- audio --------------------------------------------------------------------------------------


def test_reference_audio_native_16k_stays_float64(tmp_path: Path) -> None:
    path = tmp_path / "a16.wav"
    expected = write_wav(path, 16000)
    out = Audio(path).prepare(media.AUDIO_REFERENCE)
    assert out.sample_rate == 16000 and out.array.dtype == np.float64
    assert np.array_equal(out.array, expected)
    assert np.abs(out.array).max() <= 1.0


def test_reference_audio_48k_stereo_becomes_int16_scale(tmp_path: Path) -> None:
    path = tmp_path / "a48.wav"
    raw = write_wav(path, 48000, seconds=0.05, channels=2)
    out = Audio(path).prepare(media.AUDIO_REFERENCE)
    assert out.array.dtype == np.int16 and out.sample_rate == 16000
    assert out.array.shape == (math.ceil(raw.shape[0] / 3),)
    assert np.abs(out.array).max() > 1
    # the reference recipe, step by step (spec §8.1)
    step = media.resample(raw.mean(axis=1).astype(np.float32), 48000, 16000)
    assert np.array_equal(out.array, (step * 32767).astype(np.int16))


def test_clean_audio_is_float32_in_range_and_mono(tmp_path: Path) -> None:
    p16, p48 = tmp_path / "a16.wav", tmp_path / "a48.wav"
    write_wav(p16, 16000, channels=2)
    write_wav(p48, 48000, seconds=0.05)
    for path in (p16, p48):
        out = Audio(path).prepare(media.AUDIO_CLEAN)
        assert out.array.dtype == np.float32 and out.array.ndim == 1
        assert out.sample_rate == 16000 and np.abs(out.array).max() <= 1.0
    stereo = np.stack([np.full(100, 0.5), np.full(100, -0.1)], axis=1)
    mono = Audio.from_array(stereo, 16000).prepare()
    assert np.allclose(mono.array, 0.2) and mono.array.dtype == np.float32
    first = Audio.from_array(stereo.T, 16000, channels_first=True).prepare()
    assert np.array_equal(first.array, mono.array)
    pcm = Audio.from_array(np.array([16384, -32768], np.int16), 16000).load()
    assert pcm.array.tolist() == [0.5, -1.0]
    assert Audio(p16).prepare(AudioPrep(sample_rate=8000)).array.shape == (800,)
    with pytest.raises(InputError):
        AudioPrep(mode="raw")  # type: ignore[arg-type]
    loaded = Audio(p48).load()
    assert loaded.sample_rate == 48000 and loaded.array.dtype == np.float32
    ref = Audio.from_array(np.zeros(160, np.float32), 16000).prepare(media.AUDIO_REFERENCE)
    assert ref.array.dtype == np.float64  # arrays behave like files read by soundfile


def test_audio_errors_and_hash(tmp_path: Path) -> None:
    path = tmp_path / "ok.wav"
    write_wav(path, 16000)
    assert Audio(path).content_hash() == hashlib.sha256(path.read_bytes()).hexdigest()
    assert Audio.from_bytes(path.read_bytes()).content_hash() == Audio(path).content_hash()
    arr = np.zeros(10, np.float32)
    assert (
        Audio.from_array(arr, 16000).content_hash() == media.as_audio((arr, 16000)).content_hash()
    )
    assert Audio.from_array(arr, 16000).content_hash() != Audio.from_array(arr, 8000).content_hash()

    corrupt = tmp_path / "bad.wav"
    corrupt.write_bytes(b"RIFF\x00\x01\x00\x00WAVEfmt " + np.random.RandomState(0).bytes(40))
    with pytest.raises(MediaError, match="cannot decode audio") as err:
        Audio(corrupt, record="r3", field="audio").prepare()
    assert_media_error(err, corrupt)
    assert err.value.record == "r3" and err.value.__cause__ is not None
    missing = tmp_path / "missing.wav"
    with pytest.raises(MediaError, match="not found") as err:
        Audio(missing).load()
    assert_media_error(err, missing)
    m4a = tmp_path / "x.m4a"
    m4a.write_bytes(b"....")
    with pytest.raises(MediaError, match="unsupported audio file extension") as err:
        Audio(m4a).load()
    assert_media_error(err, m4a)
    with pytest.raises(MediaError, match="sample_rate"):
        Audio(arr)
    with pytest.raises(MediaError, match="1-D or 2-D"):
        Audio.from_array(np.zeros((2, 2, 2)), 16000)
    with pytest.raises(MediaError, match="integer or float"):
        Audio.from_array(np.array(["a"]), 16000)
    with pytest.raises(MediaError, match="NaN"):
        Audio.from_array(np.array([0.0, np.nan]), 16000).prepare()


@pytest.mark.slow
def test_resample_matches_librosa() -> None:
    """One cross-check against librosa itself (its first import JIT-compiles for up to ~30 s)."""
    librosa = pytest.importorskip("librosa")
    y = np.random.RandomState(3).uniform(-1, 1, 4801).astype(np.float32)
    for orig in (48000, 44100, 8000):
        ours = media.resample(y, orig, 16000)
        assert np.array_equal(ours, librosa.resample(y, orig_sr=orig, target_sr=16000))


# -- base64 -------------------------------------------------------------------------------------


def test_base64_round_trip_and_errors(tmp_path: Path) -> None:
    img_path = rgb_jpeg(tmp_path / "x.jpg")
    wav = tmp_path / "a.wav"
    write_wav(wav, 16000)
    mp4 = write_mp4(tmp_path / "v.mp4", frames=8)
    for path, kind, cls in [
        (img_path, "image", Image),
        (wav, "audio", Audio),
        (mp4, "video", Video),
    ]:
        encoded = base64.b64encode(path.read_bytes()).decode()
        decoded: Image | Audio | Video = media.decode_base64_media(encoded, kind)  # type: ignore[call-overload]
        assert isinstance(decoded, cls)
        assert decoded.content_hash() == hashlib.sha256(path.read_bytes()).hexdigest()
    uri = "data:image/jpeg;base64," + base64.urlsafe_b64encode(img_path.read_bytes()).decode()
    assert np.array_equal(
        np.asarray(media.decode_base64_media(uri, "image").load()),
        np.asarray(Image(img_path).load()),
    )
    with pytest.raises(MediaError, match="invalid base64"):
        media.decode_base64_media("not base64!!", "image")
    garbage = base64.b64encode(b"definitely not a picture").decode()
    with pytest.raises(MediaError, match="cannot"):
        media.decode_base64_media(garbage, "image", record="r4")
    with pytest.raises(MediaError):
        media.decode_base64_media(garbage, "audio")
    with pytest.raises(MediaError):
        media.decode_base64_media(garbage, "video")
    with pytest.raises(MediaError, match="empty"):
        media.decode_base64_media("", "audio")
    with pytest.raises(InputError):
        media.decode_base64_media(garbage, "text")  # type: ignore[call-overload]


# -- molecules ----------------------------------------------------------------------------------


def test_molecule_without_rdkit(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "rdkit" or m.startswith("rdkit.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "rdkit", None)  # makes "import rdkit" fail
    mol = Molecule("CC(=O)O")
    assert mol.smiles == "CC(=O)O"
    assert mol.content_hash() == hashlib.sha256(b"CC(=O)O").hexdigest()
    with pytest.raises(MissingDependencyError, match="mol"):
        mol.to_image()
    with pytest.raises(MissingDependencyError):
        mol.describe()
    with pytest.raises(MediaError):
        Molecule("C C")


def test_molecule_with_rdkit(tmp_path: Path) -> None:
    pytest.importorskip("rdkit")
    mol = media.as_molecule("OC(=O)c1ccccc1OC(C)=O")  # aspirin, non-canonical order
    text = mol.describe()
    assert "Formula: C9H8O4" in text and "180.16" in text
    image = mol.to_image(size=300).load()
    assert image.mode == "RGB" and image.size == (300, 300)
    with pytest.raises(MediaError, match="invalid SMILES"):
        Molecule("C1CC(", record="m1")
    smi = tmp_path / "x.smi"
    smi.write_text("\nCCO ethanol\n")
    assert media.as_molecule(smi).smiles == "CCO"
    assert Molecule.from_path(str(smi)) == Molecule("CCO")
    bad = tmp_path / "x.pdb"
    bad.write_text("x")
    with pytest.raises(MediaError, match="unsupported molecule") as err:
        Molecule.from_path(bad)
    assert_media_error(err, bad)
