"""Telling a client its document is done: one POST of the record to the ``callback_url`` it
gave, retried a bounded number of times.

A callback URL is a request the server makes on a stranger's behalf, so it must not reach
what only the server can reach (SSRF): unless the operator allows it
(``--allow-private-callbacks``), every address the host name resolves to must be a global
one — not loopback, private, link-local (cloud metadata), multicast or reserved — and the
connection goes to the address that was checked, so a name that resolves differently a
moment later (DNS rebinding) gains nothing. No proxy from the environment is used and no
redirect is followed. With an API token, the body is signed with it (``X-Gouji-Signature``:
``sha256=`` and the HMAC of the body), so the receiver can tell the call is the server's.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import httpcore

from ..errors import CallbackRefused

ATTEMPTS = 3
TIMEOUT_SECONDS = 10.0
BACKOFF_SECONDS = 2.0


def check_url(url: str, allow_private: bool) -> str:
    """``url`` if it may be a callback as written (scheme, host; a literal address or
    ``localhost`` checked now, other names when called); else ``CallbackRefused``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackRefused("回调地址须为 http:// 或 https:// 开头的完整网址")
    if parts.username or parts.password:
        raise CallbackRefused("回调地址不能含用户名或密码")
    host = parts.hostname
    if not allow_private and (host == "localhost" or host.endswith(".localhost")):
        raise CallbackRefused("回调地址指向本机，服务默认不回调本机或内网地址")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return url  # a name: its addresses are checked when it is called
    _vet(address, allow_private)
    return url


def _vet(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private: bool) -> None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if not allow_private and not address.is_global:
        raise CallbackRefused(f"回调地址解析到本机或内网地址 {address}，服务默认不回调这类地址")


class _CheckedBackend(httpcore.SyncBackend):
    """Connects only to addresses that pass ``_vet``, and to the very address checked (TLS
    still verifies the host name: httpcore takes it from the URL, not from here)."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"无法解析回调地址的主机名 {host}") from exc
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
        for address in addresses:  # every address: the resolver's order may change
            _vet(address, self.allow_private)
        for address in addresses[:-1]:
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError:
                continue
        return super().connect_tcp(str(addresses[-1]), port, timeout, local_address, socket_options)


def post(
    url: str,
    body: bytes,
    *,
    allow_private: bool,
    token: str | None = None,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF_SECONDS,
) -> bool:
    """POST ``body`` (JSON) to ``url`` until it answers 2xx, at most ``attempts`` times with a
    growing pause between; whether it was taken. A refused address is not retried."""
    headers = [(b"Content-Type", b"application/json"), (b"User-Agent", b"gouji-serve")]
    if token:
        signature = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
        headers.append((b"X-Gouji-Signature", f"sha256={signature}".encode()))
    timeout = {"connect": TIMEOUT_SECONDS, "read": TIMEOUT_SECONDS, "write": TIMEOUT_SECONDS}
    with httpcore.ConnectionPool(network_backend=_CheckedBackend(allow_private)) as pool:
        for attempt in range(attempts):
            if attempt:
                time.sleep(backoff * 2 ** (attempt - 1))
            try:
                response = pool.request(
                    "POST", url, headers=headers, content=body, extensions={"timeout": timeout}
                )
            except CallbackRefused:
                return False
            except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError):
                continue
            if 200 <= response.status < 300:
                return True
    return False
