"""Standard Webhooks signing and verification, plus the Tencent MPS notification Sign."""

import base64
import hashlib
import hmac

import pytest

from mediaflow.notify.signing import mps_sign, new_secret, sign, signature_headers, verify

pytestmark = pytest.mark.unit

KEY = bytes(range(24))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
TS = 1_700_000_000
BODY = b'{"JobId":"j-1","State":"Success"}'


def test_known_vector_matches_the_spec_computed_by_hand():
    # From the spec text: HMAC-SHA256 keyed with base64-decoded secret, over "id.timestamp.body".
    mac = hmac.new(KEY, b"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W.1700000000." + BODY, hashlib.sha256).digest()
    assert sign(SECRET, MSG_ID, TS, BODY) == "v1," + base64.b64encode(mac).decode()


def test_secret_without_prefix_is_the_same_key():
    assert sign(SECRET.removeprefix("whsec_"), MSG_ID, TS, BODY) == sign(SECRET, MSG_ID, TS, BODY)


def test_new_secret_is_prefixed_24_random_bytes():
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 24
    assert first != second


def test_signature_headers():
    assert signature_headers(SECRET, MSG_ID, TS, BODY) == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": "1700000000",
        "webhook-signature": sign(SECRET, MSG_ID, TS, BODY),
    }


def test_round_trip_with_a_fresh_secret():
    secret = new_secret()
    verify(secret, signature_headers(secret, MSG_ID, TS, BODY), BODY, now=TS)


def test_headers_are_matched_case_insensitively():
    headers = {k.title(): v for k, v in signature_headers(SECRET, MSG_ID, TS, BODY).items()}
    verify(SECRET, headers, BODY, now=TS)


def test_timestamp_within_tolerance_is_accepted_both_ways():
    headers = signature_headers(SECRET, MSG_ID, TS, BODY)
    verify(SECRET, headers, BODY, now=TS + 300)
    verify(SECRET, headers, BODY, now=TS - 300)


def test_tampered_body_is_rejected():
    headers = signature_headers(SECRET, MSG_ID, TS, BODY)
    with pytest.raises(ValueError, match="no matching signature"):
        verify(SECRET, headers, BODY + b" ", now=TS)


def test_wrong_secret_is_rejected():
    headers = signature_headers(new_secret(), MSG_ID, TS, BODY)
    with pytest.raises(ValueError, match="no matching signature"):
        verify(SECRET, headers, BODY, now=TS)


def test_changed_id_is_rejected():
    headers = signature_headers(SECRET, MSG_ID, TS, BODY) | {"webhook-id": "msg_other"}
    with pytest.raises(ValueError, match="no matching signature"):
        verify(SECRET, headers, BODY, now=TS)


@pytest.mark.parametrize("now", [TS + 301, TS - 301])
def test_timestamp_outside_tolerance_is_rejected(now):
    headers = signature_headers(SECRET, MSG_ID, TS, BODY)
    with pytest.raises(ValueError, match="webhook-timestamp"):
        verify(SECRET, headers, BODY, now=now)


def test_tolerance_is_configurable():
    headers = signature_headers(SECRET, MSG_ID, TS, BODY)
    verify(SECRET, headers, BODY, now=TS + 3600, tolerance=3600)
    with pytest.raises(ValueError):
        verify(SECRET, headers, BODY, now=TS + 10, tolerance=5)


def test_default_now_is_the_clock():
    headers = signature_headers(SECRET, MSG_ID, TS, BODY)  # 2023: far outside 300 s of today
    with pytest.raises(ValueError, match="webhook-timestamp"):
        verify(SECRET, headers, BODY)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_rejected(missing):
    headers = signature_headers(SECRET, MSG_ID, TS, BODY)
    del headers[missing]
    with pytest.raises(ValueError, match=f"missing header {missing}"):
        verify(SECRET, headers, BODY, now=TS)


def test_non_integer_timestamp_is_rejected():
    headers = signature_headers(SECRET, MSG_ID, TS, BODY) | {"webhook-timestamp": "soon"}
    with pytest.raises(ValueError, match="not an integer"):
        verify(SECRET, headers, BODY, now=TS)


def test_one_matching_signature_among_several_is_enough():
    good = sign(SECRET, MSG_ID, TS, BODY)
    rotated = sign(new_secret(), MSG_ID, TS, BODY)
    for value in (f"{rotated} {good}", f"{good} {rotated}", f"v2,abc {good}"):
        headers = signature_headers(SECRET, MSG_ID, TS, BODY) | {"webhook-signature": value}
        verify(SECRET, headers, BODY, now=TS)


def test_only_v1_entries_count():
    digest = sign(SECRET, MSG_ID, TS, BODY).removeprefix("v1,")
    headers = signature_headers(SECRET, MSG_ID, TS, BODY) | {"webhook-signature": f"v1a,{digest} {digest}"}
    with pytest.raises(ValueError, match="no matching signature"):
        verify(SECRET, headers, BODY, now=TS)


def test_mps_sign_is_md5_of_timestamp_and_key():
    assert mps_sign(1700000000, "notify-key") == hashlib.md5(b"1700000000notify-key").hexdigest()
    assert mps_sign(0, "") == "cfcd208495d565ef66e7dff9f98764da"  # md5("0"), a published value
