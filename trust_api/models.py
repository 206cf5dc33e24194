"""Request bodies: strict shapes (unknown fields refused); domain rules check the values."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from trust_api.issuance import IssueRequest


def _no_nul(text: str) -> str:
    # Stored as text: PostgreSQL refuses NUL characters in text (a 500, not the caller's 400).
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


UnixTime = Annotated[int, Field(ge=0, le=2**40)]
Reason = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_no_nul)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class Holder(Strict):
    idType: Annotated[str, Field(max_length=16)]
    id: Annotated[str, Field(max_length=64)]


class LicenseBody(Strict):
    licenseType: Annotated[str, Field(max_length=16)]
    licenseNumber: Annotated[str, Field(max_length=64)]
    holder: Holder
    subject: dict[str, Any]
    validFrom: UnixTime
    validUntil: UnixTime
    scope: Annotated[str, Field(max_length=500)] = ""

    def to_request(self) -> IssueRequest:
        return IssueRequest(self.licenseType, self.licenseNumber, self.holder.idType,
                            self.holder.id, self.subject, self.validFrom, self.validUntil,
                            self.scope)


class BatchBody(Strict):
    items: Annotated[list[LicenseBody], Field(min_length=1, max_length=5000)]


class JobBody(Strict):
    items: Annotated[list[LicenseBody], Field(min_length=1, max_length=200_000)]


class ReasonBody(Strict):
    reason: Reason


class RenewBody(Strict):
    reason: Reason
    validUntil: UnixTime


class KeyBody(Strict):
    validFrom: UnixTime | None = None
    validUntil: UnixTime


class RevokeKeyBody(Strict):
    reason: Annotated[str, Field(max_length=32)]
    compromisedAt: UnixTime | None = None


class VerifyBody(Strict):
    cityCode: Annotated[str, Field(max_length=4096)] | None = None
    credential: dict[str, Any] | None = None
