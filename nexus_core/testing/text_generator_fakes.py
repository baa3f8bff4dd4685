"""An in-memory ``TextGenerator``: answers from a script, records what it was asked."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from nexus_core.domain.api_keys import Secret
from nexus_core.domain.text_generator import Generation, GenerationRequest


@dataclass(frozen=True, slots=True)
class Asked:
    """One call: the key's value and the request."""

    api_key: str
    request: GenerationRequest


class FakeTextGenerator:
    """Answers with the scripted generations in order, then ``default`` (a text echoing the
    last turn when not given)."""

    def __init__(self, *script: Generation, default: Generation | None = None) -> None:
        self.asked: list[Asked] = []
        self._script = deque(script)
        self._default = default
        self._lock = threading.Lock()

    def script(self, *answers: Generation) -> None:
        with self._lock:
            self._script.extend(answers)

    def generate(self, api_key: Secret, request: GenerationRequest) -> Generation:
        with self._lock:
            self.asked.append(Asked(api_key.value, request))
            if self._script:
                return self._script.popleft()
        if self._default is not None:
            return self._default
        return Generation.written(f"Respuesta a: {request.turns[-1].text}")
