"""Small immutable values shared by models and the API."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    alt: str | None = None
