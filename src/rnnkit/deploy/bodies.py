"""What ``rnnkit serve`` accepts: the request bodies, as pydantic models (FastAPI validates them and writes them into
the OpenAPI schema). Every body refuses unknown fields and non-finite numbers; what pydantic cannot express (the
limits, ragged rows) is checked in ``rnnkit.deploy.limits``.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


SequenceInput = Union[str, list[float], list[list[float]]]


class SequencesRequest(Request):
    """``inputs``: texts, or numeric sequences: a list of numbers (one feature) or of rows (several)."""

    inputs: list[SequenceInput] = Field(min_length=1, description="texts or numeric sequences (steps x features)")


class RecognizeRequest(SequencesRequest):
    beam: int = Field(1, ge=1, description="1: best path; K: prefix beam search with K prefixes")


class GenerateRequest(Request):
    prompt: str = ""
    length: int = Field(100, ge=0, description="tokens to generate")
    temperature: float = Field(1.0, ge=0)
    top_k: Optional[int] = Field(None, ge=1)
    top_p: Optional[float] = Field(None, gt=0, le=1)
    seed: Optional[int] = None
    stop: list[str] = Field(default_factory=list, max_length=8)
    stream: bool = Field(False, description="answer NDJSON lines {\"text\": piece}, one per token, as drawn")


class TranslateRequest(Request):
    inputs: list[str] = Field(min_length=1)
    beam: int = Field(1, ge=1)


class CaptionRequest(Request):
    images: list[list[list[list[float]]]] = Field(min_length=1, description="(height, width, 3) RGB, 0-255 each")
    beam: int = Field(1, ge=1)


class ForecastRequest(Request):
    horizon: Optional[int] = Field(None, ge=1, description="steps ahead (at most the model's horizon)")
    data: Optional[list[dict[str, Any]]] = Field(
        None, description="rows of the table to forecast from (default: the history saved with the model)")
