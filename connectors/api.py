"""One httpx client per channel account: pacing, retries, tokens and errors in one place.

    api = ApiClient("https://shop.example", channel="shopify-main",
                    buckets={"orders": TokenBucket(100, 1000)}, inspect=shopify_verdict)
    r = api.request("orders", "POST", "/admin/api/2026-07/graphql.json", json=body, cost=52)

What a call does, in order:
  1. takes `cost` tokens from the operation group's bucket (waiting if it must);
  2. sends, with the access token from `auth` (refreshed shortly before it expires);
  3. reads the answer:
     - 401: the token is refreshed once and the call sent again, else AuthRejected;
     - 429, or a throttle the API reports inside a 200 (`inspect`): waits Retry-After, the
       API's own hint, or a jittered backoff, then sends again; a spent daily quota raises
       QuotaExhausted at once (retrying cannot help);
     - 5xx, a timeout, a dropped connection: a read is sent again after a backoff; a write
       only when the caller says it is safe (`retry_write=True`: an idempotency key, or an
       absolute value), otherwise Unreachable goes up so the caller can read back first;
     - another 4xx: Rejected, with the API's own message.
The Date header of every answer keeps `now()` on the channel's clock.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import AuthRejected, QuotaExhausted, Rejected, Throttled, Unreachable
from .throttle import TokenBucket, backoff

__all__ = ["ApiClient", "Verdict", "OAuthToken", "retry_after"]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a platform's `inspect` hook makes of an answer the status alone does not explain."""

    wait: float | None = None  # throttled: send again after this many seconds
    quota_until: dt.datetime | None = None  # a daily quota is spent until then
    reason: str = ""


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (Shopify sends a float, "2.0"; HTTP allows a date too)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: the caller backs off on its own
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


class OAuthToken:
    """An access token got from a refresh token (Amazon LWA, eBay OAuth), cached until shortly
    before it expires, and fetched again at once when the API answers 401."""

    def __init__(
        self, token_url: str, form: Mapping[str, str], *, basic: tuple[str, str] | None = None,
        header: str = "Authorization", prefix: str = "Bearer ", margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url, self.form, self.basic = token_url, dict(form), basic
        self.header, self.prefix, self.margin, self._clock = header, prefix, margin, clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()
        self.refreshes = 0

    def headers(self, http: httpx.Client) -> dict[str, str]:
        with self._lock:
            if self._token is None or self._clock() >= self._expires - self.margin:
                self._refresh(http)
            assert self._token is not None
            return {self.header: self.prefix + self._token}

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _refresh(self, http: httpx.Client) -> None:
        try:
            if self.basic:
                r = http.post(self.token_url, data=self.form, auth=httpx.BasicAuth(*self.basic))
            else:
                r = http.post(self.token_url, data=self.form)
        except httpx.HTTPError as exc:
            raise Unreachable(f"token endpoint {self.token_url}: {type(exc).__name__}: {exc}") from exc
        if r.status_code >= 500:
            raise Unreachable(f"token endpoint {self.token_url} answered {r.status_code}", status=r.status_code)
        if r.status_code != 200:
            raise AuthRejected(f"token refresh refused ({r.status_code}): {_message(r)}", status=r.status_code)
        body = r.json()
        self._token = str(body["access_token"])
        self._expires = self._clock() + float(body.get("expires_in", 3600))
        self.refreshes += 1


Inspect = Callable[[str, httpx.Response], Verdict | None]


class ApiClient:
    def __init__(
        self, base_url: str, *, channel: str, buckets: Mapping[str, TokenBucket],
        headers: Mapping[str, str] | None = None, auth: OAuthToken | None = None,
        basic: tuple[str, str] | None = None, inspect: Inspect | None = None, timeout: float = 30.0,
        tries: int = 8, backoff_base: float = 1.0, backoff_cap: float = 60.0,
        sleep: Callable[[float], None] = time.sleep, transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.channel, self.buckets, self.auth, self.inspect = channel, dict(buckets), auth, inspect
        self.tries, self.backoff_base, self.backoff_cap, self._sleep = tries, backoff_base, backoff_cap, sleep
        self.http = httpx.Client(
            base_url=base_url, headers=dict(headers or {}), timeout=timeout, transport=transport,
            auth=httpx.BasicAuth(*basic) if basic else None,
        )
        self._skew = dt.timedelta(0)  # channel clock minus ours
        self.calls = 0
        self.throttled = 0  # answers that said "slow down", for heartbeats and benchmarks

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc) + self._skew

    def close(self) -> None:
        self.http.close()

    def request(
        self, group: str, method: str, url: str, *, cost: float = 1.0, retry_write: bool = False,
        ok: tuple[int, ...] = (200, 201, 202, 204), **kwargs: Any,
    ) -> httpx.Response:
        """Send one call, paced and retried as the module says; returns a response whose status
        is in `ok` (and that `inspect` found nothing wrong with)."""
        method = method.upper()
        safe = method in _READS or retry_write
        bucket = self.buckets[group]
        refreshed = False
        last = ""
        extra = dict(kwargs.pop("headers", None) or {})
        for attempt in range(self.tries):
            bucket.take(cost)
            headers = dict(extra)
            if self.auth is not None:
                headers.update(self.auth.headers(self.http))
            try:
                r = self.http.request(method, url, headers=headers, **kwargs)
            except httpx.TimeoutException as exc:
                last = f"{method} {url} timed out"
                if not safe:
                    raise Unreachable(last) from exc
                self._sleep(backoff(attempt, base=self.backoff_base, cap=self.backoff_cap))
                continue
            except httpx.HTTPError as exc:
                last = f"{method} {url}: {type(exc).__name__}: {exc}"
                if not safe and not isinstance(exc, httpx.ConnectError):  # refused: nothing was sent
                    raise Unreachable(last) from exc
                self._sleep(backoff(attempt, base=self.backoff_base, cap=self.backoff_cap))
                continue
            self.calls += 1
            self._clock_from(r)
            verdict = self.inspect(group, r) if self.inspect is not None else None
            if verdict is not None and verdict.quota_until is not None:
                raise QuotaExhausted(
                    f"{self.channel}: daily quota spent until {verdict.quota_until:%Y-%m-%d %H:%M} UTC"
                    + (f" ({verdict.reason})" if verdict.reason else ""),
                    until=verdict.quota_until, status=r.status_code,
                )
            if r.status_code == 401 and self.auth is not None and not refreshed:
                self.auth.invalidate()
                refreshed = True
                continue
            if r.status_code in (401, 403):
                raise AuthRejected(f"{self.channel}: {method} {url} refused ({r.status_code}): {_message(r)}",
                                   status=r.status_code)
            if r.status_code == 429 or (verdict is not None and verdict.wait is not None):
                self.throttled += 1
                wait = verdict.wait if verdict is not None and verdict.wait is not None else retry_after(r)
                if wait is None:
                    wait = backoff(attempt, base=self.backoff_base, cap=self.backoff_cap)
                last = f"{method} {url} throttled ({r.status_code})"
                bucket.hold(wait)
                continue
            if r.status_code >= 500:
                last = f"{method} {url} answered {r.status_code}"
                if not safe:
                    raise Unreachable(f"{self.channel}: {last}", status=r.status_code)
                self._sleep(backoff(attempt, base=self.backoff_base, cap=self.backoff_cap))
                continue
            if r.status_code not in ok:
                raise Rejected(f"{self.channel}: {method} {url} refused ({r.status_code}): {_message(r)}",
                               status=r.status_code)
            return r
        if "throttled" in last:
            raise Throttled(f"{self.channel}: {last}, {self.tries} tries")
        raise Unreachable(f"{self.channel}: {last}, {self.tries} tries")

    def _clock_from(self, r: httpx.Response) -> None:
        value = r.headers.get("date")
        if not value:
            return
        try:
            theirs = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return
        if theirs.tzinfo is None:
            return
        self._skew = theirs - dt.datetime.now(dt.timezone.utc)


def _message(r: httpx.Response) -> str:
    """The API's own words, short: errors[0].message and the like, else the body's start."""
    try:
        body = r.json()
    except ValueError:
        return r.text[:300]
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return str(first.get("longMessage") or first.get("message") or first)[:300]
        if isinstance(errors, str):
            return errors[:300]
        for key in ("message", "error_description", "error"):
            if key in body:
                return str(body[key])[:300]
    return str(body)[:300]

