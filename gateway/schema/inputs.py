"""GraphQL inputs, and their translation into the normalized query."""

from __future__ import annotations

from datetime import datetime, timezone

import strawberry

from gateway import model
from gateway.errors import BadUserInput
from gateway.schema.types import DocumentType, JobOrderField, JobSource, JobStatus, OrderDirection


@strawberry.input(description="Which jobs to list. Fields combine with AND; list values with OR.")
class JobFilter:
    sources: list[JobSource] | None = strawberry.field(default=None, description="Only these sources.")
    status: list[JobStatus] | None = strawberry.field(default=None, description="Only jobs in these statuses.")
    created_after: datetime | None = strawberry.field(default=None, description="Created at or after this time (inclusive). A time without zone is UTC.")
    created_before: datetime | None = strawberry.field(default=None, description="Created at or before this time (inclusive). A time without zone is UTC.")
    document_types: list[DocumentType] | None = strawberry.field(default=None, description="DocuRift only: these document types. Excludes DevRev.")
    categories: list[str] | None = strawberry.field(default=None, description="DevRev only: these job categories. Excludes DocuRift.")
    created_by: list[strawberry.ID] | None = strawberry.field(default=None, description="DevRev only: created by these DevRev user ids. Excludes DocuRift.")
    owned_by: list[strawberry.ID] | None = strawberry.field(default=None, description="DevRev only: owned by these DevRev user ids. Excludes DocuRift.")
    parent_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="DevRev only: children of these DevRev objects. Excludes DocuRift.")


@strawberry.input(description="How to order jobs. Ties break by source, then by the upstream's own order.")
class JobOrder:
    field: JobOrderField = strawberry.field(default=model.OrderField.CREATED_AT, description="The timestamp to order by.")
    direction: OrderDirection = strawberry.field(default=model.OrderDirection.DESC, description="Oldest or newest first.")


def to_query(job_filter: JobFilter | None, order: JobOrder | None) -> model.JobQuery:
    f = job_filter or JobFilter()
    after = _utc(f.created_after, "createdAfter")
    before = _utc(f.created_before, "createdBefore")
    if after is not None and before is not None and after > before:
        raise BadUserInput("filter.createdAfter is later than filter.createdBefore.", argument="filter")
    normalized = model.JobFilter(
        sources=_unique(f.sources),
        status=_unique(f.status),
        created_after=after,
        created_before=before,
        document_types=_unique(f.document_types),
        categories=_unique(f.categories),
        created_by=_unique(f.created_by),
        owned_by=_unique(f.owned_by),
        parent_ids=_unique(f.parent_ids),
    )
    o = order or JobOrder()
    return model.JobQuery(normalized, model.JobOrder(o.field, o.direction))


def _unique(values):  # type: ignore[no-untyped-def]
    return tuple(dict.fromkeys(values)) if values else ()


def _utc(moment: datetime | None, name: str) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise BadUserInput(f"filter.{name} is out of range in UTC.", argument="filter") from None
