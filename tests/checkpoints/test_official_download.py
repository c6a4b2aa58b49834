"""Official weights by name (checkpoints/official_download.py): fetched once into $DISTILLSR_HOME,
verified, resumed after a cut, cleaned up after a failure, refused offline; and end to end through
``distillsr.load_model("e-rfdn")`` and ``distillsr upscale -m e-rfdn``.

Nothing here reaches the network: the zoo entry's URL is swapped (``dataclasses.replace``) for one a
fake opener serves from memory, or for a ``file://`` URL of the real official file under ``../shared``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import socket
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from support import official_weights
from support.downloads import (
    DOWNLOAD_URL,
    FakeServer,
    download_payload,
    refusing_opener,
)

from distillsr.checkpoints import official_download
from distillsr.checkpoints.official_download import (
    cached_official_weights,
    cached_path,
    downloads_allowed,
    official_weights_file,
    select_weights,
    weights_folder,
)
from distillsr.errors import DistillsrError
from distillsr.models import zoo

MODEL = "e-rfdn"
FILENAME = "RFDN_AIM.pth"
URL = DOWNLOAD_URL + FILENAME


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    """A $DISTILLSR_HOME that does not exist yet (so what a failure leaves behind shows), downloads on."""
    monkeypatch.setenv("DISTILLSR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DISTILLSR_OFFLINE", raising=False)
    return tmp_path / "home"


@pytest.fixture
def payload() -> bytes:
    return download_payload()


def _publish(monkeypatch, data: bytes, *, url: str = URL, sha256: str | None = None, size: int | None = None) -> None:
    """Make the e-rfdn zoo entry's official file ``data`` at ``url`` (its real sha256 and size unless told)."""
    entry = zoo.ZOO[MODEL]
    [weights] = entry.weights
    weights = dataclasses.replace(
        weights, url=url, sha256=sha256 or hashlib.sha256(data).hexdigest(), size=len(data) if size is None else size
    )
    monkeypatch.setitem(zoo.ZOO, MODEL, dataclasses.replace(entry, weights=(weights,)))


def _leftovers(home: Path) -> list[str]:
    """Every path under ``home`` (relative), the folder itself included when it exists."""
    if not home.exists():
        return []
    return sorted(str(path.relative_to(home.parent)) for path in [home, *home.rglob("*")])


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and message
    return message


# --------------------------------------------------------------------------------------------------
# 1. First use downloads, verifies and reports progress; later uses are the cache
# --------------------------------------------------------------------------------------------------


def test_first_use_downloads_with_progress_then_the_cache_answers(monkeypatch, home, payload):
    _publish(monkeypatch, payload)
    server, steps = FakeServer({URL: payload}, chunk=64 * 1024), []
    path = cached_official_weights(MODEL, opener=server, progress=lambda done, total: steps.append((done, total)))

    assert path == home / "weights" / MODEL / FILENAME and path.read_bytes() == payload
    assert server.requests == [(URL, None)]
    done = [d for d, _ in steps]
    assert len(steps) == 5 and done == sorted(set(done)), "one strictly increasing step per 64 KiB read"
    assert done[-1] == len(payload) and {total for _, total in steps} == {len(payload)}
    assert sorted(p.name for p in path.parent.iterdir()) == [f".{FILENAME}.verified", FILENAME]  # no .part

    steps.clear()
    again = cached_official_weights(MODEL, opener=refusing_opener, progress=lambda *a: steps.append(a))
    assert again == path and steps == []
    assert cached_path(MODEL, zoo.ZOO[MODEL].weights[0]) == path


def test_the_default_progress_is_a_quiet_bar_off_a_terminal(monkeypatch, payload, capsys):
    _publish(monkeypatch, payload)
    cached_official_weights(MODEL, opener=FakeServer({URL: payload}))  # progress="auto", stderr is captured
    assert "%|" not in capsys.readouterr().err  # tqdm draws nothing when stderr is not a terminal


def test_a_changed_cached_file_is_checked_again_and_refused(monkeypatch, home, payload):
    _publish(monkeypatch, payload)
    path = cached_official_weights(MODEL, opener=FakeServer({URL: payload}), progress=None)
    path.write_bytes(payload[:-1] + bytes([payload[-1] ^ 1]))  # same size, one bit flipped, new mtime
    assert cached_path(MODEL, zoo.ZOO[MODEL].weights[0]) is None
    with pytest.raises(DistillsrError) as error:
        cached_official_weights(MODEL, opener=refusing_opener, progress=None)
    message = _one_line(error)
    assert f"{path} is not the official {FILENAME}" in message and "sha256 is" in message
    assert "delete it" in message and URL in message and "-w/--weights" in message


def test_a_file_copied_into_the_cache_by_hand_is_hashed_once_and_used(monkeypatch, home, payload):
    _publish(monkeypatch, payload)
    folder = weights_folder(MODEL)
    folder.mkdir(parents=True)
    (folder / FILENAME).write_bytes(payload)
    monkeypatch.setenv("DISTILLSR_OFFLINE", "1")  # a cache prepared for an air-gapped machine
    assert cached_official_weights(MODEL, opener=refusing_opener, progress=None) == folder / FILENAME
    assert cached_path(MODEL, zoo.ZOO[MODEL].weights[0]) == folder / FILENAME, "the record was written"


# --------------------------------------------------------------------------------------------------
# 2. A cut download resumes with a Range request (or restarts when the server ignores ranges)
# --------------------------------------------------------------------------------------------------


def test_a_cut_download_keeps_its_part_and_resumes_from_that_byte(monkeypatch, payload):
    _publish(monkeypatch, payload)
    part = weights_folder(MODEL) / f"{FILENAME}.part"
    with pytest.raises(DistillsrError) as error:
        cached_official_weights(MODEL, opener=FakeServer({URL: payload}, fail_after=100_000), progress=None)
    message = _one_line(error)
    assert URL in message and "Connection reset by peer" in message and "run again to resume" in message
    assert "-w/--weights" in message
    assert part.read_bytes() == payload[:100_000]

    server, steps = FakeServer({URL: payload}, chunk=64 * 1024), []
    path = cached_official_weights(MODEL, opener=server, progress=lambda done, total: steps.append(done))
    assert server.requests == [(URL, "bytes=100000-")]
    assert path.read_bytes() == payload and not part.exists()
    assert steps[0] == 100_000 + 64 * 1024 and steps[-1] == len(payload), "counts start from the bytes kept"


def test_a_server_ignoring_the_range_gets_a_clean_restart(monkeypatch, payload):
    _publish(monkeypatch, payload)
    with pytest.raises(DistillsrError, match="run again to resume"):
        cached_official_weights(MODEL, opener=FakeServer({URL: payload}, fail_after=100_000), progress=None)
    server = FakeServer({URL: payload}, honour_range=False)
    path = cached_official_weights(MODEL, opener=server, progress=None)
    assert server.requests == [(URL, "bytes=100000-")]  # asked; answered 200 with the whole file
    assert path.read_bytes() == payload and hashlib.sha256(path.read_bytes()).hexdigest() == zoo.ZOO[MODEL].weights[0].sha256


def test_a_cut_download_completes_from_a_file_url_with_the_real_opener(tmp_path, monkeypatch, payload):
    source = tmp_path / "served" / FILENAME
    source.parent.mkdir()
    source.write_bytes(payload)
    _publish(monkeypatch, payload, url=source.as_uri())
    with pytest.raises(DistillsrError):
        cached_official_weights(MODEL, opener=FakeServer({source.as_uri(): payload}, fail_after=50_000), progress=None)
    assert (weights_folder(MODEL) / f"{FILENAME}.part").stat().st_size == 50_000
    path = cached_official_weights(MODEL, progress=None)  # urllib's own opener; file:// ignores Range
    assert path.read_bytes() == payload


# --------------------------------------------------------------------------------------------------
# 3. A checksum mismatch removes the bytes and says so in one line
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wrong", ["sha256", "size"])
def test_a_checksum_mismatch_removes_everything_and_names_the_url(monkeypatch, home, payload, wrong):
    if wrong == "sha256":
        _publish(monkeypatch, payload, sha256=hashlib.sha256(b"the published file").hexdigest())
    else:
        _publish(monkeypatch, payload, size=len(payload) + 1)
    with pytest.raises(DistillsrError) as error:
        cached_official_weights(MODEL, opener=FakeServer({URL: payload}), progress=None)
    message = _one_line(error)
    assert "checksum" in message and "did not match" in message and URL in message
    assert ("sha256 is " if wrong == "sha256" else "size is ") in message
    assert "-w/--weights" in message
    assert _leftovers(home) == [], "no file, no .part, no record, no empty folders"


# --------------------------------------------------------------------------------------------------
# 4. No network, or downloads turned off: one line naming the URL and -w, nothing left behind
# --------------------------------------------------------------------------------------------------


def _failing(error: BaseException):
    def opener(request, timeout=None):
        raise error

    return opener


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (urllib.error.URLError(socket.gaierror(-2, "Name or service not known")), "(Name or service not known)"),
        (urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")), "(Connection refused)"),
        (ConnectionRefusedError(111, "Connection refused"), "(Connection refused)"),
        (TimeoutError("timed out"), "(timed out)"),
        (urllib.error.HTTPError(URL, 503, "Service Unavailable", {}, None), "(HTTP 503 Service Unavailable)"),
    ],
)
def test_no_network_is_one_line_and_leaves_nothing(monkeypatch, home, payload, error, reason):
    _publish(monkeypatch, payload)
    with pytest.raises(DistillsrError) as raised:
        cached_official_weights(MODEL, opener=_failing(error), progress=None)
    message = _one_line(raised)
    assert URL in message and reason in message and "-w/--weights FILE" in message
    assert "check the connection and run again" in message
    assert _leftovers(home) == []


def test_a_connection_cut_before_the_first_byte_leaves_no_empty_part(monkeypatch, home, payload):
    _publish(monkeypatch, payload)
    with pytest.raises(DistillsrError) as raised:
        cached_official_weights(MODEL, opener=FakeServer({URL: payload}, fail_after=0), progress=None)
    assert "stopped after 0 B" in _one_line(raised) and "check the connection" in str(raised.value)
    assert _leftovers(home) == []


def test_a_failure_keeps_folders_that_were_there_before(monkeypatch, home, payload):
    _publish(monkeypatch, payload)
    (home / "weights").mkdir(parents=True)
    (home / "weights" / "dipnet").mkdir()
    with pytest.raises(DistillsrError):
        cached_official_weights(MODEL, opener=_failing(ConnectionRefusedError(111, "Connection refused")), progress=None)
    assert _leftovers(home) == ["home", "home/weights", "home/weights/dipnet"]


@pytest.mark.parametrize("value", ["1", "yes", "true", "anything"])
def test_offline_refuses_to_download_in_one_line(monkeypatch, home, payload, value):
    _publish(monkeypatch, payload)
    monkeypatch.setenv("DISTILLSR_OFFLINE", value)
    assert not downloads_allowed()
    with pytest.raises(DistillsrError) as raised:
        cached_official_weights(MODEL, opener=refusing_opener, progress=None)
    message = _one_line(raised)
    assert "$DISTILLSR_OFFLINE is set" in message and URL in message and "-w/--weights FILE" in message
    assert _leftovers(home) == []


@pytest.mark.parametrize("value", ["", "0", "false", "No"])
def test_offline_values_that_mean_online(monkeypatch, value):
    monkeypatch.setenv("DISTILLSR_OFFLINE", value)
    assert downloads_allowed()


def test_offline_still_uses_the_cache(monkeypatch, payload):
    _publish(monkeypatch, payload)
    path = cached_official_weights(MODEL, opener=FakeServer({URL: payload}), progress=None)
    monkeypatch.setenv("DISTILLSR_OFFLINE", "1")
    assert cached_official_weights(MODEL, opener=refusing_opener, progress=None) == path


def test_download_false_refuses_too(monkeypatch, payload):
    _publish(monkeypatch, payload)
    with pytest.raises(DistillsrError, match=r"downloads are off \(download=False\)"):
        cached_official_weights(MODEL, download=False, opener=refusing_opener)


# --------------------------------------------------------------------------------------------------
# 5. A cache that cannot be written: one line suggesting $DISTILLSR_HOME or -w
# --------------------------------------------------------------------------------------------------


def test_a_home_under_a_regular_file_is_one_line_with_the_ways_out(tmp_path, monkeypatch, payload):
    _publish(monkeypatch, payload)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("DISTILLSR_HOME", str(blocker / "cache"))
    with pytest.raises(DistillsrError) as raised:
        cached_official_weights(MODEL, opener=refusing_opener, progress=None)
    message = _one_line(raised)
    assert message.startswith(f"cannot store official weights in {blocker}/cache/weights/{MODEL}: Not a directory")
    assert "$DISTILLSR_HOME" in message and "-w/--weights FILE" in message
    assert blocker.read_text() == "not a folder"


def test_a_part_that_cannot_be_written_is_a_storage_error_not_a_network_one(monkeypatch, home, payload):
    _publish(monkeypatch, payload)
    (weights_folder(MODEL) / f"{FILENAME}.part").mkdir(parents=True)  # opening it for writing fails
    with pytest.raises(DistillsrError) as raised:
        cached_official_weights(MODEL, opener=FakeServer({URL: payload}), progress=None)
    message = _one_line(raised)
    assert message.startswith(f"cannot store official weights in {weights_folder(MODEL)}: Is a directory")
    assert "$DISTILLSR_HOME" in message and "-w/--weights FILE" in message and "connection" not in message


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_home_is_one_line_with_the_ways_out(tmp_path, monkeypatch, payload):
    _publish(monkeypatch, payload)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setenv("DISTILLSR_HOME", str(locked))
    try:
        with pytest.raises(DistillsrError, match=r"cannot store official weights in .*Permission denied.*\$DISTILLSR_HOME"):
            cached_official_weights(MODEL, opener=refusing_opener, progress=None)
    finally:
        locked.chmod(0o700)


# --------------------------------------------------------------------------------------------------
# Which file a name and a scale mean
# --------------------------------------------------------------------------------------------------


def test_the_file_for_a_scale():
    imdn, e_rfdn = zoo.get_entry("imdn"), zoo.get_entry("e-rfdn")
    assert select_weights(imdn, 2, exact=True).filename == "IMDN_x2.pth"
    assert select_weights(imdn, 3.0, exact=True).filename == "IMDN_x3.pth"
    assert select_weights(imdn, None).filename == "IMDN_x4.pth"  # no scale: the x4 file
    assert select_weights(e_rfdn, 2, exact=True) is None  # evaluation at x2 has no x2 E-RFDN
    assert select_weights(e_rfdn, 2).filename == FILENAME  # upscale -s 2: x4 then resized
    assert select_weights(imdn, 2.5).filename == "IMDN_x4.pth"
    assert select_weights(zoo.get_entry("rfdn"), 4) is None


def test_a_model_without_published_weights(monkeypatch):
    assert official_weights_file("rfdn", 4) is None
    with pytest.raises(DistillsrError, match=r"no official weights are published for e-rfdn x2: give -w/--weights FILE"):
        cached_official_weights("e-rfdn", 2, exact=True, opener=refusing_opener)


# --------------------------------------------------------------------------------------------------
# 6. End to end with the real official file served from a file:// URL
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def served_rfdn(tmp_path, monkeypatch) -> Iterator[Path]:
    """The real RFDN_AIM.pth, copied out of ../shared and published at a file:// URL with its real checksum.

    The upscaler keeps models loaded by name in a per-process cache (inference/resolve.py) that
    does not know about $DISTILLSR_HOME: it is emptied around each test so every test downloads.
    """
    from distillsr.inference import resolve

    official = official_weights("rfdn", FILENAME)
    served = tmp_path / "served" / FILENAME
    served.parent.mkdir()
    shutil.copyfile(official, served)
    [weights] = zoo.ZOO[MODEL].weights
    assert hashlib.sha256(served.read_bytes()).hexdigest() == weights.sha256, "the zoo's sha256 is the real file's"
    monkeypatch.setitem(
        zoo.ZOO, MODEL, dataclasses.replace(zoo.ZOO[MODEL], weights=(dataclasses.replace(weights, url=served.as_uri()),))
    )
    resolve._cached.cache_clear()
    yield served
    resolve._cached.cache_clear()


def test_load_model_by_name_downloads_and_equals_loading_the_file(served_rfdn, home, monkeypatch):
    import distillsr

    by_name = distillsr.load_model(MODEL)
    cached = home / "weights" / MODEL / FILENAME
    assert cached.read_bytes() == served_rfdn.read_bytes()
    by_file = distillsr.load_model(MODEL, weights=served_rfdn)
    x = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(by_name(x), by_file(x))
    assert by_name.scale == 4 and by_name.name == MODEL

    monkeypatch.setattr(official_download.urllib.request, "urlopen", refusing_opener)
    with torch.no_grad():
        assert torch.equal(distillsr.load_model(MODEL)(x), by_file(x)), "the second load comes from the cache"


def test_upscale_by_name_equals_upscale_with_the_file(served_rfdn, home, tmp_path, upscale, photos, monkeypatch):
    from distillsr.imaging.read import read_image

    source = str(photos.save(tmp_path / "a.png", photos.astronaut(24, 32)))
    code, _, err = upscale(source, "-o", str(tmp_path / "by_name"), "-m", MODEL, "-t", "0", "-q")
    assert code == 0, err
    assert (home / "weights" / MODEL / FILENAME).is_file()
    code, _, err = upscale(source, "-o", str(tmp_path / "by_file"), "-m", MODEL, "-w", str(served_rfdn), "-t", "0", "-q")
    assert code == 0, err
    by_name, by_file = read_image(tmp_path / "by_name" / "a.png"), read_image(tmp_path / "by_file" / "a.png")
    assert by_name.shape == (96, 128, 3) and np.array_equal(by_name, by_file)


def test_upscale_by_name_offline_without_a_cache_is_one_error_line(served_rfdn, home, tmp_path, upscale, photos, monkeypatch):
    monkeypatch.setenv("DISTILLSR_OFFLINE", "1")
    source = str(photos.save(tmp_path / "a.png", photos.astronaut(24, 32)))
    code, _, err = upscale(source, "-o", str(tmp_path / "out"), "-m", MODEL, "-q")
    assert code == 1 and "Traceback" not in err
    [line] = upscale.lines(err, "distillsr: error:")
    assert served_rfdn.as_uri() in line and "-w/--weights FILE" in line and "$DISTILLSR_OFFLINE" in line
    assert _leftovers(home) == [] and not (tmp_path / "out").exists()
