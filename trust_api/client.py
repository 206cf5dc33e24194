"""Synchronous trust API client that signs every request with the caller's account key."""

from __future__ import annotations

import json as _json
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from coincurve import PrivateKey

from trust_api.auth import address_of, canonical_query, new_nonce, sign_request

TOKEN_PATH = "/v1/auth/token"
# Refresh a bearer token this long before it expires, so a request never races the expiry.
_TOKEN_REFRESH_MARGIN = 60

ParamValue = str | int | float | bool | None
# Lists/tuples (not any Sequence: a str is one) give repeated keys.
Params = (
    Mapping[str, ParamValue | list[ParamValue] | tuple[ParamValue, ...]]
    | Sequence[tuple[str, ParamValue]]
    | None
)


def _param_text(value: ParamValue) -> str:
    # Same spelling httpx would use, so switching to this client changes no URLs.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _query_pairs(params: Params) -> list[tuple[str, str]]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, value in params.items():
            values = value if isinstance(value, list | tuple) else [value]
            pairs.extend((key, _param_text(v)) for v in values)
        return pairs
    return [(key, _param_text(value)) for key, value in params]


class TrustApiClient:
    """`TrustApiClient(base_url, private_key)`; every call is signed, or carries a bearer
    token after `use_token()`. Responses are returned as-is (no raise on error status)."""

    def __init__(
        self, base_url: str, private_key: bytes | str, *, http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time, timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(base_url)
        if not parts.scheme or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"base_url must be an absolute URL without query: {base_url!r}")
        self._base_url = base_url.rstrip("/")
        # A base URL with a path (reverse-proxy prefix) is part of the path the server sees.
        self._path_prefix = parts.path.rstrip("/")
        if isinstance(private_key, str):
            private_key = bytes.fromhex(private_key.removeprefix("0x"))
        self._key = PrivateKey(private_key)
        self.address: bytes = address_of(self._key)
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._clock = clock
        self._token: str | None = None
        self._token_expires_at = 0

    def get(self, path: str, *, json: Any = None, params: Params = None) -> httpx.Response:
        return self.request("GET", path, json=json, params=params)

    def post(self, path: str, *, json: Any = None, params: Params = None) -> httpx.Response:
        return self.request("POST", path, json=json, params=params)

    def put(self, path: str, *, json: Any = None, params: Params = None) -> httpx.Response:
        return self.request("PUT", path, json=json, params=params)

    def delete(self, path: str, *, json: Any = None, params: Params = None) -> httpx.Response:
        return self.request("DELETE", path, json=json, params=params)

    def request(
        self, method: str, path: str, *, json: Any = None, params: Params = None
    ) -> httpx.Response:
        return self._send(method, path, json=json, params=params, force_signature=False)

    def use_token(self) -> None:
        """Trade one signed request for a bearer token and use it from now on."""
        response = self._send("POST", TOKEN_PATH, json=None, params=None, force_signature=True)
        response.raise_for_status()
        data = response.json()
        token, expires_at = data.get("token"), data.get("expiresAt")
        if not isinstance(token, str) or type(expires_at) is not int:
            raise ValueError(f"unexpected token response: {data!r}")
        self._token, self._token_expires_at = token, expires_at

    def _send(
        self, method: str, path: str, *, json: Any, params: Params, force_signature: bool
    ) -> httpx.Response:
        if not path.startswith("/") or "?" in path or "#" in path:
            raise ValueError(f"path must start with '/' and carry no query (use params): {path!r}")
        # Serialize once: the signed body hash must cover exactly the bytes on the wire.
        body = b"" if json is None else _json.dumps(json, separators=(",", ":")).encode()
        # Send the canonical query verbatim so the server parses exactly what was signed.
        query = canonical_query(_query_pairs(params))
        url = self._base_url + path + (f"?{query}" if query else "")
        headers: dict[str, str] = {}
        if body:
            headers["Content-Type"] = "application/json"
        if self._token is not None and not force_signature:
            if self._clock() >= self._token_expires_at - _TOKEN_REFRESH_MARGIN:
                self.use_token()
            headers["Authorization"] = f"Bearer {self._token}"
        else:
            # Servers (Starlette) see the percent-decoded path, so that is what gets signed.
            signed_path = unquote(self._path_prefix + path)
            headers.update(sign_request(
                self._key, method, signed_path, query, body, int(self._clock()), new_nonce()
            ))
        return self._http.request(method, url, content=body, headers=headers)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> TrustApiClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
