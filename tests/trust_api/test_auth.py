"""Signed-request, replay and token authentication for the trust API (trust_api.auth)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from trust_api.auth import (
    HEADER_ACCOUNT,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    AuthenticatedCaller,
    AuthError,
    MemoryNonceStore,
    NonceStoreFull,
    Query,
    authenticate,
    canonical_query,
    canonical_request,
    issue_token,
    sign_request,
    verify_signed_request,
    verify_token,
)
from trust_api.client import TOKEN_PATH, TrustApiClient

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
OTHER_KEY = bytes.fromhex("11" * 32)
ADDRESS = bytes.fromhex(Account.from_key(KEY).address[2:])
OTHER_ADDRESS = bytes.fromhex(Account.from_key(OTHER_KEY).address[2:])
NOW = 1_700_000_000
NONCE = "n0nce-AAAA_bbbb-1234"
SECRET = b"s" * 32

METHOD, PATH, QUERY, BODY = "POST", "/v1/licenses/42", "b=2&a=1&a=0", b'{"status":"revoked"}'


def signed(
    *, private_key: bytes = KEY, method: str = METHOD, path: str = PATH, query: Query = QUERY,
    body: bytes = BODY, timestamp: int = NOW, nonce: str = NONCE,
) -> dict[str, str]:
    return sign_request(private_key, method, path, query, body, timestamp, nonce)


def verify(
    headers: dict[str, str], *, method: str = METHOD, path: str = PATH, query: Query = QUERY,
    body: bytes = BODY, nonce_store: MemoryNonceStore | None = None,
) -> AuthenticatedCaller:
    return verify_signed_request(method, path, query, body, headers, NOW, nonce_store=nonce_store)


def auth_error(fn: Callable[[], object]) -> AuthError:
    with pytest.raises(AuthError) as info:
        fn()
    return info.value


# --- signed requests -------------------------------------------------------------------------


def test_round_trip() -> None:
    headers = signed()
    assert headers[HEADER_ACCOUNT] == "0x" + ADDRESS.hex()
    caller = verify(headers)
    assert caller.address == ADDRESS
    assert (caller.nonce, caller.timestamp, caller.scheme) == (NONCE, NOW, "signature")


def test_query_order_and_encoding_do_not_matter() -> None:
    headers = signed(query=[("a", "x y"), ("b", "é")])
    verify(headers, query="b=%C3%A9&a=x+y")
    verify(headers, query="?a=x%20y&b=%c3%a9")
    assert canonical_query("b=2&a=1&a=0") == "a=0&a=1&b=2"
    assert canonical_query({"k": "a/b&c"}) == "k=a%2Fb%26c"


def test_header_names_are_case_insensitive() -> None:
    verify({k.lower(): v for k, v in signed().items()})


def test_checksummed_account_header_accepted() -> None:
    headers = signed()
    headers[HEADER_ACCOUNT] = Account.from_key(KEY).address  # EIP-55 mixed case
    verify(headers)


@pytest.mark.parametrize(
    "field",
    ["method", "path", "query", "body", "timestamp", "nonce", "account"],
)
def test_tampering_breaks_signature(field: str) -> None:
    headers = signed()
    method, path, query, body = METHOD, PATH, QUERY, BODY
    if field == "method":
        method = "PUT"
    elif field == "path":
        path = "/v1/licenses/43"
    elif field == "query":
        query = "b=2&a=1&a=9"
    elif field == "body":
        body = b'{"status":"active"}'
    elif field == "timestamp":
        headers[HEADER_TIMESTAMP] = str(NOW + 1)  # still within the allowed skew
    elif field == "nonce":
        headers[HEADER_NONCE] = "another-valid-nonce-0001"
    elif field == "account":
        headers[HEADER_ACCOUNT] = "0x" + OTHER_ADDRESS.hex()
    err = auth_error(lambda: verify(headers, method=method, path=path, query=query, body=body))
    assert err.code == "bad_signature"


def test_signature_from_other_key_for_claimed_account_fails() -> None:
    headers = signed()
    headers[HEADER_SIGNATURE] = signed(private_key=OTHER_KEY)[HEADER_SIGNATURE]
    assert auth_error(lambda: verify(headers)).code == "bad_signature"


def test_recovery_byte_variants() -> None:
    headers = signed()
    sig = bytes.fromhex(headers[HEADER_SIGNATURE][2:])
    headers[HEADER_SIGNATURE] = "0x" + (sig[:64] + bytes([sig[64] - 27])).hex()
    verify(headers)  # 0/1 style recovery ids are accepted as well as 27/28
    headers[HEADER_SIGNATURE] = "0x" + (sig[:64] + bytes([29])).hex()
    assert auth_error(lambda: verify(headers)).code == "bad_signature"
    headers[HEADER_SIGNATURE] = "0x" + "00" * 64 + "1b"  # r = s = 0: not a signature
    assert auth_error(lambda: verify(headers)).code == "bad_signature"


@pytest.mark.parametrize("drift", [301, -301, 10_000])
def test_clock_skew_refused(drift: int) -> None:
    err = auth_error(lambda: verify(signed(timestamp=NOW + drift)))
    assert err.code == "clock_skew"
    assert f"{abs(drift)}s" in err.message and "300s" in err.message
    assert ("ahead" if drift > 0 else "behind") in err.message


@pytest.mark.parametrize("drift", [300, -300, 0])
def test_clock_skew_boundary_accepted(drift: int) -> None:
    verify(signed(timestamp=NOW + drift))


def test_missing_credentials() -> None:
    err = auth_error(lambda: verify({"Content-Type": "application/json"}))
    assert err.code == "missing_credentials"


@pytest.mark.parametrize("header", [HEADER_ACCOUNT, HEADER_TIMESTAMP, HEADER_NONCE,
                                    HEADER_SIGNATURE])
def test_partial_credentials_name_the_missing_header(header: str) -> None:
    headers = signed()
    del headers[header]
    err = auth_error(lambda: verify(headers))
    assert (err.code, err.header) == ("malformed_credentials", header)
    assert header in err.message


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (HEADER_ACCOUNT, "0x1234"),
        (HEADER_ACCOUNT, "12" * 20),
        (HEADER_ACCOUNT, "0x" + "zz" * 20),
        (HEADER_TIMESTAMP, "-5"),
        (HEADER_TIMESTAMP, "1.5"),
        (HEADER_TIMESTAMP, "01700000000"),
        (HEADER_TIMESTAMP, "1700000000\n"),
        (HEADER_NONCE, "short"),
        (HEADER_NONCE, "x" * 65),
        (HEADER_NONCE, "has space in the nonce!!"),
        (HEADER_SIGNATURE, "0x1234"),
        (HEADER_SIGNATURE, "ab" * 65),
        (HEADER_SIGNATURE, "0x" + "gg" * 65),
    ],
)
def test_malformed_header_is_named(header: str, value: str) -> None:
    headers = signed()
    headers[header] = value
    err = auth_error(lambda: verify(headers))
    assert (err.code, err.header) == ("malformed_credentials", header)
    assert header in err.message


def test_sign_request_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError):
        signed(nonce="short")
    with pytest.raises(ValueError):
        signed(method="GE\nT")


# --- replay protection -----------------------------------------------------------------------


def test_replay_refused() -> None:
    store = MemoryNonceStore(clock=lambda: NOW)
    headers = signed()
    verify(headers, nonce_store=store)
    assert auth_error(lambda: verify(headers, nonce_store=store)).code == "replayed_request"
    # The same nonce from a different account is a different request.
    verify(signed(private_key=OTHER_KEY), nonce_store=store)


def test_failed_signature_does_not_burn_the_nonce() -> None:
    store = MemoryNonceStore(clock=lambda: NOW)
    headers = signed()
    forged = dict(headers, **{HEADER_SIGNATURE: signed(private_key=OTHER_KEY)[HEADER_SIGNATURE]})
    assert auth_error(lambda: verify(forged, nonce_store=store)).code == "bad_signature"
    verify(headers, nonce_store=store)


def test_nonce_store_prunes_expired_entries() -> None:
    clock = [float(NOW)]
    store = MemoryNonceStore(clock=lambda: clock[0], grace=60)
    assert store.remember(ADDRESS, NONCE, NOW + 300)
    assert not store.remember(ADDRESS, NONCE, NOW + 300)
    clock[0] = NOW + 300 + 60  # expired, but still inside the grace period
    assert not store.remember(ADDRESS, NONCE, NOW + 300)
    clock[0] = NOW + 300 + 61
    assert store.remember(ADDRESS, "fresh-nonce-000000", NOW + 700)
    assert len(store) == 1
    assert store.remember(ADDRESS, NONCE, NOW + 700)  # pruned, so accepted as new


def test_nonce_store_fails_closed_when_full() -> None:
    store = MemoryNonceStore(clock=lambda: NOW, max_entries=2)
    assert store.remember(ADDRESS, "a" * 16, NOW + 300)
    assert store.remember(ADDRESS, "b" * 16, NOW + 300)
    with pytest.raises(NonceStoreFull):
        store.remember(ADDRESS, "c" * 16, NOW + 300)


# --- tokens ----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_token_valid() -> None:
    token = issue_token(SECRET, ADDRESS, NOW, ttl=900)
    assert token.startswith("cct1.") and token.count(".") == 2
    assert verify_token(SECRET, token, NOW + 899) == ADDRESS


def test_token_expired() -> None:
    token = issue_token(SECRET, ADDRESS, NOW, ttl=900)
    assert auth_error(lambda: verify_token(SECRET, token, NOW + 900)).code == "token_expired"


def test_token_tampered_payload() -> None:
    prefix, payload, mac = issue_token(SECRET, ADDRESS, NOW).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "0x" + OTHER_ADDRESS.hex()
    forged = f"{prefix}.{_b64(json.dumps(claims).encode())}.{mac}"
    assert auth_error(lambda: verify_token(SECRET, forged, NOW)).code == "token_invalid"


def test_token_tampered_mac() -> None:
    prefix, payload, mac = issue_token(SECRET, ADDRESS, NOW).split(".")
    raw = bytearray(base64.urlsafe_b64decode(mac + "="))
    raw[0] ^= 1
    forged = f"{prefix}.{payload}.{_b64(bytes(raw))}"
    assert auth_error(lambda: verify_token(SECRET, forged, NOW)).code == "token_invalid"


def test_token_wrong_secret() -> None:
    token = issue_token(SECRET, ADDRESS, NOW)
    assert auth_error(lambda: verify_token(b"t" * 32, token, NOW)).code == "token_invalid"


@pytest.mark.parametrize(
    "token", ["", "cct1", "cct1.a.b.c", "cct2.YQ.YQ", "cct1.YQ.", "cct1.Y Q.YQ", "x" * 600]
)
def test_token_garbage(token: str) -> None:
    assert auth_error(lambda: verify_token(SECRET, token, NOW)).code == "token_invalid"


def test_short_secret_refused() -> None:
    with pytest.raises(ValueError):
        issue_token(b"x" * 31, ADDRESS, NOW)
    token = issue_token(SECRET, ADDRESS, NOW)
    with pytest.raises(ValueError):
        verify_token(b"x" * 31, token, NOW)


# --- authenticate() --------------------------------------------------------------------------


def _authenticate(headers: dict[str, str], secret: bytes | None = SECRET) -> AuthenticatedCaller:
    store = MemoryNonceStore(clock=lambda: NOW)
    return authenticate(headers, METHOD, PATH, QUERY, BODY, NOW, store, secret)


def test_authenticate_bearer_token() -> None:
    token = issue_token(SECRET, ADDRESS, NOW)
    caller = _authenticate({"Authorization": f"Bearer {token}"})
    assert (caller.address, caller.scheme) == (ADDRESS, "token")


def test_authenticate_signed_headers() -> None:
    caller = _authenticate(signed())
    assert (caller.address, caller.scheme) == (ADDRESS, "signature")


def test_authenticate_refuses_bad_combinations() -> None:
    token = issue_token(SECRET, ADDRESS, NOW)
    assert auth_error(lambda: _authenticate({})).code == "missing_credentials"
    both = dict(signed(), Authorization=f"Bearer {token}")
    assert auth_error(lambda: _authenticate(both)).header == "Authorization"
    basic = auth_error(lambda: _authenticate({"Authorization": "Basic dXNlcjpwdw=="}))
    assert (basic.code, basic.header) == ("malformed_credentials", "Authorization")
    no_tokens = auth_error(lambda: _authenticate({"Authorization": f"Bearer {token}"}, None))
    assert no_tokens.code == "token_invalid"


# --- interoperability with eth_account -------------------------------------------------------


def test_eth_account_signature_verifies() -> None:
    account = "0x" + ADDRESS.hex()
    message = canonical_request(METHOD, PATH, QUERY, BODY, account, NOW, NONCE)
    signature = Account.sign_message(encode_defunct(primitive=message), KEY).signature
    headers = {
        HEADER_ACCOUNT: account, HEADER_TIMESTAMP: str(NOW), HEADER_NONCE: NONCE,
        HEADER_SIGNATURE: "0x" + bytes(signature).hex(),
    }
    assert verify(headers).address == ADDRESS


def test_our_signature_recovers_with_eth_account() -> None:
    headers = signed()
    message = canonical_request(METHOD, PATH, QUERY, BODY, headers[HEADER_ACCOUNT], NOW, NONCE)
    recovered = Account.recover_message(
        encode_defunct(primitive=message), signature=headers[HEADER_SIGNATURE]
    )
    assert recovered.lower() == headers[HEADER_ACCOUNT]


# --- client ----------------------------------------------------------------------------------


def _server(seen: list[httpx.Request]) -> httpx.MockTransport:
    """A stand-in API that authenticates exactly as the real one would."""
    store = MemoryNonceStore(clock=lambda: NOW)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        try:
            caller = authenticate(
                request.headers, request.method, request.url.path, request.url.query.decode(),
                request.content, NOW, store, SECRET,
            )
        except AuthError as err:
            return httpx.Response(401, json={"error": err.code, "message": err.message})
        if request.url.path == TOKEN_PATH:
            if caller.scheme != "signature":
                return httpx.Response(403, json={"error": "signature_required"})
            token = issue_token(SECRET, caller.address, NOW, ttl=900)
            return httpx.Response(200, json={"token": token, "expiresAt": NOW + 900})
        return httpx.Response(200, json={"caller": caller.address_hex, "scheme": caller.scheme})

    return httpx.MockTransport(handle)


def test_client_signs_requests() -> None:
    seen: list[httpx.Request] = []
    http = httpx.Client(transport=_server(seen))
    client = TrustApiClient("http://trust.test", KEY, http=http, clock=lambda: NOW)
    body = {"status": "revoked", "reason": "fraud ü"}
    response = client.put("/v1/licenses/a b", json=body, params={"z": 1, "a": [True, None]})
    assert response.status_code == 200, response.text
    assert response.json() == {"caller": "0x" + ADDRESS.hex(), "scheme": "signature"}
    assert seen[-1].headers["content-type"] == "application/json"
    assert seen[-1].content == json.dumps(body, separators=(",", ":")).encode()
    assert client.get("/v1/status").status_code == 200
    assert client.delete("/v1/licenses/1").status_code == 200
    # Each request gets a fresh nonce, so repeats are not mistaken for replays.
    assert len({r.headers[HEADER_NONCE] for r in seen}) == 3


def test_client_use_token() -> None:
    seen: list[httpx.Request] = []
    http = httpx.Client(transport=_server(seen))
    with TrustApiClient("http://trust.test/", "0x" + KEY.hex(), http=http,
                        clock=lambda: NOW) as client:
        client.use_token()
        assert seen[-1].url.path == TOKEN_PATH and HEADER_SIGNATURE in seen[-1].headers
        response = client.post("/v1/things", json={"a": 1})
        assert response.json()["scheme"] == "token"
        assert seen[-1].headers["authorization"].startswith("Bearer cct1.")
        assert HEADER_SIGNATURE not in seen[-1].headers
