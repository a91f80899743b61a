"""A small etcd v3 client over the JSON gateway (``/v3/...``, etcd 3.4-3.6), standard library only.

Every call has its own timeout (shorter than etcd's 7 s request timeout) and goes to the endpoints in
turn until one answers. What the gateway does that a careless client gets wrong: keys and values are
base64; int64 fields (lease ID, TTL, revisions) are JSON strings; false and zero fields are omitted
(a txn whose compare failed has no ``succeeded``; a keepalive on an expired lease answers 200 with no
``TTL``). No watches: the daemon polls once a cycle, so nothing can hang silently.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ha.errors import MysqlhaError

MAX_ANSWER = 4 * 1024 * 1024  # bytes read from one answer at most (a keepalive's stream line included)


class EtcdError(MysqlhaError):
    """etcd could not be reached (no endpoint answered in time) or refused the request."""


class LeaseLost(EtcdError):
    """The lease expired or was revoked: whatever was bound to it is gone."""


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: str
    create_revision: int
    mod_revision: int
    lease: int


@dataclass(frozen=True)
class EtcdOptions:
    endpoints: tuple[str, ...]  # http://host:port or https://host:port
    timeout: float = 2.0
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def unb64(text: str | None) -> str:
    return base64.b64decode(text or "").decode()


def prefix_end(prefix: str) -> str:
    """The range_end that selects every key starting with ``prefix`` (etcd's ``--prefix``)."""
    raw = bytearray(prefix.encode())
    while raw and raw[-1] == 0xFF:
        raw.pop()
    if not raw:
        return base64.b64encode(b"\0").decode()
    raw[-1] += 1
    return base64.b64encode(bytes(raw)).decode()


def parse_kv(item: dict[str, Any]) -> KeyValue:
    return KeyValue(
        unb64(item.get("key")),
        unb64(item.get("value")),
        int(item.get("create_revision", 0)),
        int(item.get("mod_revision", 0)),
        int(item.get("lease", 0)),
    )


class Etcd:
    """The calls mysqlha needs: leases, put/range/delete, and two guarded transactions."""

    def __init__(self, options: EtcdOptions) -> None:
        if not options.endpoints:
            raise EtcdError("no etcd endpoint configured")
        self.options = options
        self.current = 0  # the endpoint that answered last; tried first next time
        self.token: str | None = None
        self._ssl: ssl.SSLContext | None = None

    # -- transport -------------------------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            context = ssl.create_default_context(cafile=self.options.ca)
            if self.options.cert:
                context.load_cert_chain(self.options.cert, self.options.key)
            self._ssl = context
        return self._ssl

    def _once(self, endpoint: str, path: str, body: dict[str, Any], auth: bool) -> tuple[int, dict[str, Any]]:
        url = urlsplit(endpoint)
        timeout = self.options.timeout
        host, port = url.hostname or "127.0.0.1", url.port or 2379
        conn: http.client.HTTPConnection
        if url.scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._context())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        headers = {"Content-Type": "application/json"}
        if auth and self.token:
            headers["Authorization"] = self.token
        try:
            conn.request("POST", path, json.dumps(body), headers)
            response = conn.getresponse()
            # a keepalive answers with a stream of JSON lines: the first one is the answer
            raw = response.readline(MAX_ANSWER) if path.endswith("/keepalive") else response.read(MAX_ANSWER)
            return response.status, json.loads(raw or b"{}")
        finally:
            conn.close()

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``path`` on the first endpoint that answers; EtcdError when none does."""
        endpoints = self.options.endpoints
        problems = []
        for attempt in range(len(endpoints)):
            index = (self.current + attempt) % len(endpoints)
            endpoint = endpoints[index]
            try:
                if self.options.user and self.token is None:
                    self._authenticate(endpoint)
                status, data = self._once(endpoint, path, body, auth=True)
                if status == 401 and self.options.user:  # the token expired: once more with a new one
                    self._authenticate(endpoint)
                    status, data = self._once(endpoint, path, body, auth=True)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                problems.append(f"{endpoint}: {exc or type(exc).__name__}")
                continue
            if status != 200:
                message = data.get("message") or data.get("error") or f"HTTP {status}"
                if status >= 500 or status == 503:  # that member cannot serve (no leader, timeout): try another
                    problems.append(f"{endpoint}: {message}")
                    continue
                raise EtcdError(f"etcd {endpoint}{path}: {message}")
            self.current = index
            return data
        raise EtcdError(f"etcd {path}: no endpoint answered within {self.options.timeout:g} s: {'; '.join(problems)}")

    def _authenticate(self, endpoint: str) -> None:
        body = {"name": self.options.user, "password": self.options.password or ""}
        status, data = self._once(endpoint, "/v3/auth/authenticate", body, auth=False)
        if status != 200 or "token" not in data:
            raise EtcdError(f"etcd {endpoint}: authentication as {self.options.user!r} failed: {data.get('message')}")
        self.token = str(data["token"])

    # -- leases ----------------------------------------------------------------------------------------

    def grant(self, ttl: int) -> int:
        """A new lease of ``ttl`` seconds (etcd's floor is 2); its ID."""
        data = self.call("/v3/lease/grant", {"TTL": str(ttl)})
        if data.get("error"):
            raise EtcdError(f"etcd lease grant: {data['error']}")
        return int(data["ID"])

    def keepalive(self, lease: int) -> int:
        """Renew ``lease`` once; its TTL. LeaseLost when it expired (the answer has no TTL)."""
        data = self.call("/v3/lease/keepalive", {"ID": str(lease)})
        result = data.get("result", data)
        ttl = int(result.get("TTL", 0))
        if ttl <= 0:
            raise LeaseLost(f"etcd lease {lease:x} expired")
        return ttl

    def revoke(self, lease: int) -> None:
        self.call("/v3/lease/revoke", {"ID": str(lease)})

    # -- keys ------------------------------------------------------------------------------------------

    def put(self, key: str, value: str, lease: int = 0) -> int:
        """Write ``key``; the new revision."""
        body: dict[str, Any] = {"key": b64(key), "value": b64(value)}
        if lease:
            body["lease"] = str(lease)
        return int(self.call("/v3/kv/put", body)["header"].get("revision", 0))

    def get(self, key: str) -> KeyValue | None:
        found = self.range(key, prefix=False)
        return found[0] if found else None

    def range(self, key: str, prefix: bool = True, serializable: bool = False) -> list[KeyValue]:
        """Every key under ``key`` (or ``key`` alone); ``serializable`` reads this member's copy."""
        body: dict[str, Any] = {"key": b64(key)}
        if prefix:
            body["range_end"] = prefix_end(key)
        if serializable:
            body["serializable"] = True
        return [parse_kv(item) for item in self.call("/v3/kv/range", body).get("kvs", [])]

    def scan(self, start: str, end: str, limit: int, descend: bool = False, keys_only: bool = False) -> list[KeyValue]:
        """Up to ``limit`` keys in [``start``, ``end``), sorted by key (``descend``: newest key first)."""
        body: dict[str, Any] = {
            "key": b64(start),
            "range_end": b64(end),
            "limit": str(limit),
            "sort_order": "DESCEND" if descend else "ASCEND",
            "sort_target": "KEY",
        }
        if keys_only:
            body["keys_only"] = True
        return [parse_kv(item) for item in self.call("/v3/kv/range", body).get("kvs", [])]

    def delete(self, key: str, prefix: bool = False) -> int:
        body: dict[str, Any] = {"key": b64(key)}
        if prefix:
            body["range_end"] = prefix_end(key)
        return int(self.call("/v3/kv/deleterange", body).get("deleted", 0))

    # -- transactions ----------------------------------------------------------------------------------

    def txn(self, compare: list[dict[str, Any]], success: list[dict[str, Any]], failure: list[dict[str, Any]]) -> dict:
        return self.call("/v3/kv/txn", {"compare": compare, "success": success, "failure": failure})

    def create(self, key: str, value: str, lease: int = 0) -> tuple[bool, KeyValue | None]:
        """Put ``key`` only if absent: (created, the key as it is when it was already there)."""
        put: dict[str, Any] = {"key": b64(key), "value": b64(value)}
        if lease:
            put["lease"] = str(lease)
        compare = [{"key": b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}]
        data = self.txn(compare, [{"request_put": put}], [{"request_range": {"key": b64(key)}}])
        if data.get("succeeded"):
            return True, None
        kvs = (data.get("responses") or [{}])[0].get("response_range", {}).get("kvs", [])
        return False, parse_kv(kvs[0]) if kvs else None

    def guarded_put(self, guard: str, guard_value: str, guard_lease: int, puts: dict[str, str]) -> bool:
        """Write every key in ``puts`` only while ``guard`` holds ``guard_value`` under ``guard_lease``
        (the leader key): False, nothing written, when someone else leads or the lease is gone."""
        compare = [
            {"key": b64(guard), "target": "VALUE", "result": "EQUAL", "value": b64(guard_value)},
            {"key": b64(guard), "target": "LEASE", "result": "EQUAL", "lease": str(guard_lease)},
        ]
        success = [{"request_put": {"key": b64(k), "value": b64(v)}} for k, v in puts.items()]
        return bool(self.txn(compare, success, []).get("succeeded"))

    def put_if(self, compare: list[dict[str, Any]], puts: dict[str, str]) -> int | None:
        """Write ``puts`` when every compare holds: the new revision, or None (nothing written)."""
        success = [{"request_put": {"key": b64(k), "value": b64(v)}} for k, v in puts.items()]
        answer = self.txn(compare, success, [])
        return int(answer["header"].get("revision", 0)) if answer.get("succeeded") else None

    def guarded_delete(self, guard: str, guard_value: str, guard_lease: int, key: str) -> bool:
        compare = [
            {"key": b64(guard), "target": "VALUE", "result": "EQUAL", "value": b64(guard_value)},
            {"key": b64(guard), "target": "LEASE", "result": "EQUAL", "lease": str(guard_lease)},
        ]
        return bool(self.txn(compare, [{"request_delete_range": {"key": b64(key)}}], []).get("succeeded"))

    def status(self, endpoint: str) -> dict[str, Any]:
        """One member's status (``leader`` is absent while it has none); EtcdError when it does not answer."""
        try:
            code, data = self._once(endpoint, "/v3/maintenance/status", {}, auth=True)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise EtcdError(f"etcd {endpoint}: {exc or type(exc).__name__}") from exc
        if code != 200:
            raise EtcdError(f"etcd {endpoint}: HTTP {code}")
        return data
