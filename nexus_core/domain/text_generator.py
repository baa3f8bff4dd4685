"""What a text generator (Gemini) is asked, and what it answered, classified.

A request is an instruction (the system prompt) and the turns of a conversation, oldest
first; the answer is a text, or a failure code that says why there is none. The codes never
carry the prompt, the answer or the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["user", "model"]
# Why no text came back: the key was refused (``bad_credentials``), too many requests
# (``rate_limited``), the service failed or answered nonsense (``unavailable``), no answer in
# time (``timeout``), no connection (``connect_failed``), the request was refused as invalid
# (``bad_request``), the answer was withheld by the safety filters (``blocked``) or empty
# (``empty``), or no key is configured (``not_configured``).
GenerationError = Literal[
    "bad_credentials",
    "rate_limited",
    "unavailable",
    "timeout",
    "connect_failed",
    "bad_request",
    "blocked",
    "empty",
    "not_configured",
]


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of the conversation the model continues: the person's (``user``) or ours
    (``model``)."""

    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    instruction: str
    turns: tuple[Turn, ...]
    max_output_tokens: int = 1024
    temperature: float = 0.7

    @property
    def size(self) -> int:
        """Characters sent: the instruction and every turn."""
        return len(self.instruction) + sum(len(turn.text) for turn in self.turns)


@dataclass(frozen=True, slots=True)
class Generation:
    """The model's text, or ``error`` when there is none."""

    text: str | None = None
    error: GenerationError | None = None

    @classmethod
    def written(cls, text: str) -> Generation:
        return cls(text=text)

    @classmethod
    def failed(cls, error: GenerationError) -> Generation:
        return cls(error=error)
