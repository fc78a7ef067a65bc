"""The one protocol every guard step implements, and the no-op defaults most steps inherit.

A step sees a call at up to five points, all sans-I/O (a step that needs I/O yields an ``_io`` request):

- ``request``: before sending; may change ``call.body``, refuse (raise) or ask for I/O;
- ``retry``: before the guard sends the same request again (backoff);
- ``text``: a per-text filter over the answer as it arrives (a plain answer is one piece per text,
  a stream many): the *upstream form*, e.g. secrets scrubbed;
- ``restore``: a per-text filter that turns the upstream form into what the caller sees (PII restored);
- ``answer``: the answer's generated texts so far, upstream form (``final`` once it is complete);
- ``finish``: once per call, with the error that ended it, if any (settlement, audit record).

Plain and streamed, sync and async calls all run the same step objects through ``_flow``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from prodguard.guard._call import Call
from prodguard.guard._io import Flow


class TextFilter(Protocol):
    """Transforms one text that may arrive in pieces: ``feed`` returns what can be released now; with
    ``last=True`` (the end of that text, or a whole text at once) it releases everything it holds."""

    def feed(self, text: str, last: bool = False) -> str: ...


class Step(Protocol):
    name: str

    def request(self, call: Call) -> Flow[None]: ...

    def retry(self, call: Call) -> Flow[None]: ...

    def text(self, call: Call) -> TextFilter | None: ...

    def restore(self, call: Call) -> TextFilter | None: ...

    def answer(self, call: Call, texts: Sequence[str], final: bool) -> Flow[None]: ...

    def finish(self, call: Call, error: BaseException | None) -> None: ...


class StepBase:
    """Defaults: a step overrides only the points it acts at."""

    name = "step"

    def request(self, call: Call) -> Flow[None]:
        return
        yield

    def retry(self, call: Call) -> Flow[None]:
        return
        yield

    def text(self, call: Call) -> TextFilter | None:
        return None

    def restore(self, call: Call) -> TextFilter | None:
        return None

    def answer(self, call: Call, texts: Sequence[str], final: bool) -> Flow[None]:
        return
        yield

    def finish(self, call: Call, error: BaseException | None) -> None:
        return None
