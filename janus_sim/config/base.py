"""The scenario models' common ground: the strict base model and the value types."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]

FEATURE_PATTERN = re.compile(
    r"^(ret|rv|log_rv|volume_z|volume)_(\d+)$|^(drawdown|position|time_of_day)$"
)


class Strict(BaseModel):
    # No NaN or infinity anywhere: a scenario of them would simulate garbage, not fail.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, allow_inf_nan=False)
