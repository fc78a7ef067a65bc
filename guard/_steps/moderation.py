"""The moderation step: the request's texts (already pseudonymized) before sending, the answer's
generated texts after, streamed answers at sentence ends and at least every ``stream_interval_chars``.

A verdict is required for every text: an answer that does not give one per input, or an error, fails
closed by default (``moderation.fail``). Verdicts are cached by a hash of the text.

Azure OpenAI has no moderations route; it filters prompts and completions itself (content filters
configured per deployment). On Azure clients the step therefore relies on those filters by default
(``moderation.azure = "content_filter"``) and the call goes through; ``"refuse"`` refuses instead.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prodguard.guard._body import texts as body_texts
from prodguard.guard._call import Call, ModerationNote
from prodguard.guard._errors import GuardUnavailable, ModerationFlagged
from prodguard.guard._io import Flow, Moderate
from prodguard.guard._policy.policy import ModerationSettings
from prodguard.guard._steps.base import StepBase

log = logging.getLogger("prodguard.guard")
_SENTENCE_END = re.compile(r"[.!?\n]\s*$")


@dataclass(frozen=True)
class Verdict:
    flagged: bool
    categories: tuple[str, ...]
    scores: dict[str, float]


class ModerationStep(StepBase):
    name = "moderation"

    def __init__(self, settings: ModerationSettings) -> None:
        self.settings = settings
        self._cache: OrderedDict[str, Verdict] = OrderedDict()
        self._warned: set[str] = set()
        self._checked: dict[int, int] = {}  # id(call) -> characters of streamed answer already checked

    def _skip(self, call: Call) -> bool:
        if not call.route.generating:
            return True
        if call.client.azure:
            if self.settings.azure == "refuse":
                raise GuardUnavailable("Azure OpenAI has no moderation endpoint and moderation.azure = \"refuse\"")
            self._warn("azure", "Azure OpenAI: moderation relies on the deployment's content filters (moderation.azure)")
            return True
        return False

    def request(self, call: Call) -> Flow[None]:
        if self._skip(call):
            return
        yield from self.moderate(body_texts(call.body), "input", call)

    def answer(self, call: Call, texts: Sequence[str], final: bool) -> Flow[None]:
        if not self.settings.check_output or self._skip(call):
            return
        text = "".join(texts)
        done = self._checked.get(id(call), 0)
        new = len(text) - done
        if new <= 0:
            return
        if final or new >= self.settings.stream_interval_chars or _SENTENCE_END.search(text):
            self._checked[id(call)] = len(text)
            yield from self.moderate([text], "output", call)

    def finish(self, call: Call, error: BaseException | None) -> None:
        self._checked.pop(id(call), None)

    def moderate(self, texts: Sequence[str], where: str, call: Call) -> Flow[None]:
        wanted = [t for t in dict.fromkeys(texts) if t.strip()]
        verdicts: dict[str, Verdict] = {}
        missing = []
        for text in wanted:
            cached = self._cache.get(_digest(text))
            if cached is not None:
                verdicts[text] = cached
            else:
                missing.append(text)
        if missing:
            try:
                result = yield Moderate(tuple(missing), self.settings.model)
                items = list(getattr(result, "results", None) or [])
                if len(items) != len(missing):
                    raise ValueError(f"{len(items)} verdicts for {len(missing)} inputs")
                fresh = [self._verdict(item) for item in items]
            except Exception as exc:
                self._unavailable(exc)
                return
            for text, verdict in zip(missing, fresh, strict=True):
                verdicts[text] = verdict
                self._remember(_digest(text), verdict)
        flagged = [v for v in verdicts.values() if v.flagged]
        categories = tuple(sorted({c for v in flagged for c in v.categories}))
        call.moderation.append(ModerationNote("input" if where == "input" else "output", bool(flagged), categories))
        if flagged:
            scores = {c: max(v.scores.get(c, 0.0) for v in flagged) for c in categories}
            raise ModerationFlagged(where, categories, scores)

    def _verdict(self, item: Any) -> Verdict:
        categories = _as_mapping(getattr(item, "categories", None))
        if not categories:
            raise ValueError("a moderation result without categories")
        scores = {k: float(v) for k, v in _as_mapping(getattr(item, "category_scores", None)).items() if v is not None}
        thresholds = self.settings.thresholds
        hit = {name for name, on in categories.items() if on and name not in thresholds}
        hit |= {name for name, limit in thresholds.items() if scores.get(name, 0.0) >= limit}
        if getattr(item, "flagged", False) and not hit and not thresholds:
            hit = {"flagged"}  # the endpoint's own verdict stands even without a named category
        return Verdict(bool(hit), tuple(sorted(hit)), scores)

    def _remember(self, key: str, verdict: Verdict) -> None:
        self._cache[key] = verdict
        self._cache.move_to_end(key)
        while len(self._cache) > self.settings.cache_size:
            self._cache.popitem(last=False)

    def _unavailable(self, exc: BaseException) -> None:
        if self.settings.fail == "closed":
            raise GuardUnavailable(
                f"moderation is unavailable ({type(exc).__name__}); request refused (moderation.fail = closed)"
            ) from None
        self._warn("down", f"moderation is unavailable ({type(exc).__name__}); continuing (moderation.fail = open)")

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("prodguard: %s", message)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _as_mapping(value: Any) -> dict[str, Any]:
    if hasattr(value, "model_dump"):
        return dict(value.model_dump(by_alias=True))
    return dict(value) if isinstance(value, dict) else {}
