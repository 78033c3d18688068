"""The normalized job model: plain dataclasses, no I/O, no GraphQL.

Every upstream answer is translated into these types by its source module; the merge
engine and the GraphQL layer only ever see these.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Source(enum.Enum):
    """Where a job lives. The declaration order is the tie-break across sources."""

    DEVREV = "DEVREV"
    DOCURIFT = "DOCURIFT"

    @property
    def rank(self) -> int:
        return _SOURCE_RANK[self]


_SOURCE_RANK = {source: index for index, source in enumerate(Source)}


class JobStatus(enum.Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"


class DocumentType(enum.Enum):
    INVOICE = "INVOICE"
    RECEIPT = "RECEIPT"
    CONTRACT = "CONTRACT"
    GENERAL = "GENERAL"
    BILL_OF_LADING = "BILL_OF_LADING"
    PACKING_LIST = "PACKING_LIST"


class OrderField(enum.Enum):
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


class OrderDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


class SourceState(enum.Enum):
    OK = "OK"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"


@dataclass(slots=True)
class ArtifactFile:
    type: str | None = None
    name: str | None = None
    size: int | None = None


@dataclass(slots=True)
class Artifact:
    id: str
    display_id: str | None = None
    file: ArtifactFile | None = None


@dataclass(slots=True)
class User:
    id: str
    display_id: str | None = None
    display_name: str | None = None
    full_name: str | None = None
    email: str | None = None
    state: str | None = None
    type: str | None = None
    display_picture: Artifact | None = None


@dataclass(slots=True)
class JobMetadata:
    key: str
    value: str | None = None
    type: str | None = None


@dataclass(slots=True)
class JobError:
    code: str
    message: str | None = None


@dataclass(slots=True)
class Job:
    """One job from any source. `id` is the global, opaque id (see `gateway.ids`)."""

    id: str
    source: Source
    source_id: str
    status: JobStatus
    source_status: str
    created_at: datetime
    display_id: str | None = None
    title: str | None = None
    progress: int | None = None
    category: str | None = None
    document_type: DocumentType | None = None
    source_document_type: str | None = None
    document_id: str | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    failed_at: datetime | None = None
    created_by: User | None = None
    modified_by: User | None = None
    retry_count: int | None = None
    object_version: int | None = None
    metadata: list[JobMetadata] = field(default_factory=list)
    output_artifacts: list[Artifact] = field(default_factory=list)
    error: JobError | None = None

    def sort_time(self, order_field: OrderField) -> datetime:
        """The timestamp the connection orders by; a job never updated sorts by its creation."""
        if order_field is OrderField.UPDATED_AT and self.updated_at is not None:
            return self.updated_at
        return self.created_at


@dataclass(frozen=True, slots=True)
class JobFilter:
    """The connection's filter, normalized: empty tuples mean "no constraint"."""

    sources: tuple[Source, ...] = ()
    status: tuple[JobStatus, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    document_types: tuple[DocumentType, ...] = ()
    categories: tuple[str, ...] = ()
    created_by: tuple[str, ...] = ()
    owned_by: tuple[str, ...] = ()
    parent_ids: tuple[str, ...] = ()

    def accepts_time(self, created_at: datetime) -> bool:
        if self.created_after is not None and created_at < self.created_after:
            return False
        if self.created_before is not None and created_at > self.created_before:
            return False
        return True


@dataclass(frozen=True, slots=True)
class JobOrder:
    field: OrderField = OrderField.CREATED_AT
    direction: OrderDirection = OrderDirection.DESC


@dataclass(frozen=True, slots=True)
class JobQuery:
    """What a `jobs` page asks of every source: the filter and the order."""

    filter: JobFilter = JobFilter()
    order: JobOrder = JobOrder()
