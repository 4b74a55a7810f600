"""The one base64 / data-URL decoder and the errors each caller turns it into."""

from __future__ import annotations

import base64

import pytest

from flexjudge.errors import InputError, MediaError
from flexjudge.media import Base64Error, as_image, decode_base64
from flexjudge.media._wire import decode_data_url
from flexjudge.serve.media import RequestRejected, _decode_base64

RAW = bytes(range(256))


def test_plain_url_safe_wrapped_unpadded_and_data_url_payloads_decode_alike() -> None:
    std = base64.b64encode(RAW).decode()
    url_safe = base64.urlsafe_b64encode(RAW).decode().rstrip("=")
    wrapped = "\n".join(std[i : i + 76] for i in range(0, len(std), 76))
    for text in (std, url_safe, wrapped, " " + std + "\n", "data:application/x;base64," + std):
        assert decode_base64(text) == RAW
    assert decode_base64(std.encode()) == RAW


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("data:image/png;base64", "malformed data URI"),
        ("data:image/png,abcd", "not base64-encoded"),
        ("not base64 !!!", "invalid base64"),
        ("", "empty payload"),
    ],
)
def test_bad_payloads_say_why(text: str, message: str) -> None:
    with pytest.raises(Base64Error, match=message):
        decode_base64(text)


def test_each_caller_keeps_its_own_error_type() -> None:
    with pytest.raises(Base64Error, match="only base64 data URLs"):
        decode_base64(base64.b64encode(RAW).decode(), data_url_only=True)
    with pytest.raises(InputError, match="only base64 data URLs") as bad_url:
        decode_data_url("https://example.org/a.png", "messages[0].content[1]")
    assert bad_url.value.field == "messages[0].content[1]"
    with pytest.raises(RequestRejected, match=r"images\[0\]: invalid base64") as rejected:
        _decode_base64("not base64 !!!", "images[0]")
    assert rejected.value.status == 422
    with pytest.raises(MediaError, match="image payload: invalid base64"):
        as_image("data:image/png;base64,@@@@", record="r1", field="images[0]")
