"""``RedisBackend``: budget, rate-limit and cache state shared by processes on several hosts.

Every operation that reads and then writes runs as one Lua script, which Redis executes atomically:
no other client's command runs between a script's check and its reservation, so concurrent hosts can
neither overspend a budget nor overfill a window. Windows and leases are timed with the server's own
clock (``TIME``), so hosts with skewed clocks still agree.

Keys (the accounting layer builds the base names, all under one ``{prefix}`` hash tag so a script's
keys share a slot): a counter is a hash (``r``, ``t``, ``c`` spent; ``s`` soft limits already
reported) with its leases in the sorted set ``<counter>:leases`` (member ``rid|requests|tokens|cost``,
score = expiry); a window is the sorted set ``<window>`` (member ``rid|amount``, score = time) with its
running total in ``<window>:total``. Keys expire with their period or window.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from prodguard.guard._state.backend import (
    Admission,
    Admitted,
    Amounts,
    CounterState,
    Crossing,
    Settlement,
    lease_member,
    translated,
    window_member,
)

_ADMIT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local nc, nw = tonumber(ARGV[1]), tonumber(ARGV[2])
local rid, lease_s = ARGV[3], tonumber(ARGV[4])
for i = 1, nc do
  local ck, lk, a = KEYS[2 * i - 1], KEYS[2 * i], 4 + (i - 1) * 7
  redis.call('ZREMRANGEBYSCORE', lk, '-inf', now)
  local spent = redis.call('HMGET', ck, 'r', 't', 'c')
  local live = {0, 0, 0}
  for _, member in ipairs(redis.call('ZRANGE', lk, 0, -1)) do
    local r, t, c = string.match(member, '|(%d+)|(%d+)|(%d+)$')
    live[1] = live[1] + tonumber(r)
    live[2] = live[2] + tonumber(t)
    live[3] = live[3] + tonumber(c)
  end
  for m = 1, 3 do
    local amount, hard = tonumber(ARGV[a + m]), tonumber(ARGV[a + 3 + m])
    local used = (tonumber(spent[m]) or 0) + live[m]
    if hard >= 0 and amount > 0 and used + amount > hard then
      return {1, i - 1, m - 1, string.format('%.0f', used)}
    end
  end
end
local base = 4 + nc * 7
local waits = {}
for j = 1, nw do
  local wk, tk, a = KEYS[2 * nc + 2 * j - 1], KEYS[2 * nc + 2 * j], base + (j - 1) * 3
  local amount, capacity, window = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local old = redis.call('ZRANGEBYSCORE', wk, '-inf', now - window)
  if #old > 0 then
    local freed = 0
    for _, member in ipairs(old) do freed = freed + tonumber(string.match(member, '|(%d+)$')) end
    redis.call('ZREMRANGEBYSCORE', wk, '-inf', now - window)
    redis.call('DECRBY', tk, freed)
  end
  local total = tonumber(redis.call('GET', tk) or '0')
  if total + amount > capacity then
    local wait = -1
    if amount <= capacity then
      local need, freed = total + amount - capacity, 0
      local entries = redis.call('ZRANGE', wk, 0, -1, 'WITHSCORES')
      wait = window
      for k = 1, #entries, 2 do
        freed = freed + tonumber(string.match(entries[k], '|(%d+)$'))
        if freed >= need then
          wait = math.max(tonumber(entries[k + 1]) + window - now, 0)
          break
        end
      end
    end
    table.insert(waits, j - 1)
    table.insert(waits, string.format('%.6f', wait))
  end
end
if #waits > 0 then return {2, waits} end
for i = 1, nc do
  local ck, lk, a = KEYS[2 * i - 1], KEYS[2 * i], 4 + (i - 1) * 7
  redis.call('ZADD', lk, now + lease_s, rid .. '|' .. ARGV[a + 1] .. '|' .. ARGV[a + 2] .. '|' .. ARGV[a + 3])
  redis.call('HINCRBY', ck, 'r', 0)
  local expire_at = math.ceil(tonumber(ARGV[a + 7]))
  redis.call('EXPIREAT', ck, expire_at)
  redis.call('EXPIREAT', lk, expire_at)
end
for j = 1, nw do
  local wk, tk, a = KEYS[2 * nc + 2 * j - 1], KEYS[2 * nc + 2 * j], base + (j - 1) * 3
  redis.call('ZADD', wk, now, rid .. '|' .. ARGV[a + 1])
  redis.call('INCRBY', tk, ARGV[a + 1])
  local ms = math.ceil(tonumber(ARGV[a + 3]) * 1000) + 1000
  redis.call('PEXPIRE', wk, ms)
  redis.call('PEXPIRE', tk, ms)
end
return {0}
"""

_SETTLE = """
local n = tonumber(ARGV[1])
local fields = {'r', 't', 'c'}
local out = {}
for i = 1, n do
  local ck, lk, a = KEYS[2 * i - 1], KEYS[2 * i], 1 + (i - 1) * 8
  redis.call('ZREM', lk, ARGV[a + 1])
  local noted = tonumber(redis.call('HGET', ck, 's') or '0')
  local new = noted
  for m = 1, 3 do
    local total = redis.call('HINCRBY', ck, fields[m], ARGV[a + 1 + m])
    local soft, bit = tonumber(ARGV[a + 4 + m]), 2 ^ (m - 1)
    if soft >= 0 and total >= soft and math.floor(noted / bit) % 2 == 0 then
      new = new + bit
      table.insert(out, i - 1)
      table.insert(out, m - 1)
      table.insert(out, total)
    end
  end
  if new ~= noted then redis.call('HSET', ck, 's', new) end
  redis.call('EXPIREAT', ck, math.ceil(tonumber(ARGV[a + 8])))
end
return out
"""

_RELEASE = """
local nc, nw = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, nc do redis.call('ZREM', KEYS[i], ARGV[2 + i]) end
for j = 1, nw do
  local wk, tk, a = KEYS[nc + 2 * j - 1], KEYS[nc + 2 * j], 2 + nc + (j - 1) * 2
  if redis.call('ZREM', wk, ARGV[a + 1]) == 1 then redis.call('DECRBY', tk, ARGV[a + 2]) end
end
return 0
"""

LEASES = ":leases"
TOTAL = ":total"


def _limit(value: int | None) -> int:
    return -1 if value is None else value


class RedisBackend:
    def __init__(self, url: str) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = url
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        # Where, for messages: never the URL itself, which may carry a password.
        self.where = f"Redis at {parts.hostname or parts.path}" + (f":{parts.port}" if parts.port else "")
        options: dict[str, Any] = {"retry": Retry(NoBackoff(), 1)}
        if "socket_timeout" not in query:
            options["socket_timeout"] = 2.0
        if "socket_connect_timeout" not in query:
            options["socket_connect_timeout"] = 1.0
        self._redis = redis.Redis.from_url(url, **options)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        # Redis's clock at a moment of our monotonic clock, fetched again every minute: the local
        # wall clock never enters (it may be skewed, or jump).
        self._clock: tuple[float, float] | None = None
        self._admit = self._redis.register_script(_ADMIT)
        self._settle = self._redis.register_script(_SETTLE)
        self._release = self._redis.register_script(_RELEASE)

    def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        with translated(self.where, self._errors):
            return script(keys=keys, args=args)

    def now(self) -> float:
        """Redis's clock (``TIME``): budget periods of every host start and end together."""
        monotonic = time.monotonic()
        if self._clock is None or monotonic - self._clock[1] >= 60.0:
            with translated(self.where, self._errors):
                seconds, micros = self._redis.time()
            self._clock = (seconds + micros / 1e6, monotonic)
        return self._clock[0] + (monotonic - self._clock[1])

    def admit(self, admission: Admission) -> Admitted:
        keys: list[str] = []
        args: list[Any] = [len(admission.counters), len(admission.windows), admission.rid, admission.lease_s]
        for ask in admission.counters:
            keys += [ask.key, ask.key + LEASES]
            args += [*ask.amounts, *(_limit(h) for h in ask.hard), ask.expires_at]
        for want in admission.windows:
            keys += [want.key, want.key + TOTAL]
            args += [want.amount, want.capacity, want.window_s]
        result = self._run(self._admit, keys, args)
        status = int(result[0])
        if status == 0:
            return Admitted(True)
        if status == 1:
            return Admitted(False, exceeded=(int(result[1]), int(result[2]), int(result[3])))
        flat = result[1]
        waits = []
        for k in range(0, len(flat), 2):
            wait = float(flat[k + 1])
            waits.append((int(flat[k]), wait if wait >= 0 else float("inf")))
        return Admitted(False, waits=tuple(waits))

    def settle(self, rid: str, settlements: Sequence[Settlement]) -> list[Crossing]:
        keys: list[str] = []
        args: list[Any] = [len(settlements)]
        for item in settlements:
            keys += [item.key, item.key + LEASES]
            args += [lease_member(rid, item.reserved), *item.actual, *(_limit(s) for s in item.soft), item.expires_at]
        flat = self._run(self._settle, keys, args)
        return [Crossing(int(flat[k]), int(flat[k + 1]), int(flat[k + 2])) for k in range(0, len(flat), 3)]

    def release(self, rid: str, counters: Sequence[tuple[str, Amounts]], windows: Sequence[tuple[str, int]]) -> None:
        keys = [key + LEASES for key, _ in counters]
        args: list[Any] = [len(counters), len(windows), *(lease_member(rid, amounts) for _, amounts in counters)]
        for key, amount in windows:
            keys += [key, key + TOTAL]
            args += [window_member(rid, amount), amount]
        self._run(self._release, keys, args)

    def counters(self, prefix: str) -> list[CounterState]:
        with translated(self.where, self._errors):
            seconds, micros = self._redis.time()
            now = seconds + micros / 1e6
            pattern = "".join("\\" + ch if ch in "*?[]\\" else ch for ch in prefix) + "*"
            keys = sorted(
                k.decode() for k in self._redis.scan_iter(match=pattern, count=1000) if not k.endswith(LEASES.encode())
            )
            pipe = self._redis.pipeline(transaction=False)
            for key in keys:
                pipe.hmget(key, "r", "t", "c")
                pipe.zrangebyscore(key + LEASES, now, "+inf")
            replies = pipe.execute()
        out = []
        for i, key in enumerate(keys):
            spent = tuple(int(v or 0) for v in replies[2 * i])
            reserved = [0, 0, 0]
            for member in replies[2 * i + 1]:
                for m, value in enumerate(member.decode().rsplit("|", 3)[1:]):
                    reserved[m] += int(value)
            out.append(CounterState(key, (spent[0], spent[1], spent[2]), (reserved[0], reserved[1], reserved[2])))
        return out

    def cache_get(self, key: str) -> bytes | None:
        with translated(self.where, self._errors):
            value = self._redis.get(key)
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode()

    def cache_put(self, key: str, value: bytes, ttl_s: float) -> None:
        with translated(self.where, self._errors):
            self._redis.set(key, value, px=max(int(ttl_s * 1000), 1))

    def close(self) -> None:
        self._redis.close()

