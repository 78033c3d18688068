"""GraphQL output types. Each reads plain attributes of the normalized model: no resolvers.

Resolver-free fields matter for speed: strawberry resolves an attribute field without a
coroutine or a Python call into our code, about five times cheaper than an async resolver.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLResolveInfo

from gateway import model
from gateway.schema.execution import info_free

JobSource = strawberry.enum(model.Source, name="JobSource", description="The upstream a job lives in.")
JobStatus = strawberry.enum(
    model.JobStatus,
    name="JobStatus",
    description="A job's status, normalized across sources. UNKNOWN: a state this gateway does not know yet (see `sourceStatus`).",
)
DocumentType = strawberry.enum(model.DocumentType, name="DocumentType", description="The kind of document a DocuRift job processes.")
JobOrderField = strawberry.enum(model.OrderField, name="JobOrderField", description="The timestamp jobs are ordered by.")
OrderDirection = strawberry.enum(model.OrderDirection, name="OrderDirection", description="ASC: oldest first; DESC: newest first.")
SourceState = strawberry.enum(
    model.SourceState,
    name="SourceState",
    description="OK: the source answered. SKIPPED: not asked (filtered out or not configured). FAILED: asked, and it failed.",
)


@strawberry.federation.interface(description="An object with a global id (Relay).")
class Node:
    id: strawberry.ID = strawberry.field(description="Globally unique, opaque id.")


@strawberry.type(description="A file attached to an artifact.")
class ArtifactFile:
    type: str | None = strawberry.field(description="MIME type.")
    name: str | None = strawberry.field(description="File name.")
    size: int | None = strawberry.field(description="Size in bytes.")


@strawberry.type(description="A file object produced or referenced by a job (DevRev).")
class Artifact:
    id: strawberry.ID = strawberry.field(description="The artifact's DevRev id.")
    display_id: str | None = strawberry.field(description="Human-readable id.")
    file: ArtifactFile | None = strawberry.field(description="The stored file, if any.")

    @classmethod
    @info_free
    def is_type_of(cls, obj: Any, info: GraphQLResolveInfo) -> bool:
        return isinstance(obj, model.Artifact)


@strawberry.type(description="A DevRev user who created or modified a job.")
class User:
    id: strawberry.ID = strawberry.field(description="The user's DevRev id.")
    display_id: str | None = strawberry.field(description="Human-readable id.")
    display_name: str | None = strawberry.field(description="Name shown in the UI.")
    full_name: str | None = strawberry.field(description="Full name.")
    email: str | None = strawberry.field(description="Email address.")
    state: str | None = strawberry.field(description="Account state as DevRev reports it, e.g. `active`.")
    type: str | None = strawberry.field(description="User type as DevRev reports it, e.g. `dev_user`.")
    display_picture: Artifact | None = strawberry.field(description="Avatar.")

    @classmethod
    @info_free
    def is_type_of(cls, obj: Any, info: GraphQLResolveInfo) -> bool:
        return isinstance(obj, model.User)


@strawberry.type(description="One key/value pair of a DevRev job's metadata.")
class JobMetadata:
    key: str = strawberry.field(description="Metadata key.")
    value: str | None = strawberry.field(description="Metadata value, as text.")
    type: str | None = strawberry.field(description="Declared value type, e.g. `bool`.")


@strawberry.type(description="Why a job failed (DocuRift).")
class JobError:
    code: str = strawberry.field(description="Machine-readable failure code, e.g. `UNSUPPORTED_FORMAT`.")
    message: str | None = strawberry.field(description="Human-readable explanation.")


@strawberry.federation.type(keys=["id"], description="A job from DevRev or DocuRift, in one shape. A federation entity keyed by `id`.")
class Job(Node):
    source: JobSource = strawberry.field(description="Which upstream the job lives in.")
    source_id: str = strawberry.field(description="The upstream's own id for the job.")
    display_id: str | None = strawberry.field(description="Human-readable id (DevRev), e.g. `JOB-12`.")
    title: str | None = strawberry.field(description="Title (DevRev).")
    status: JobStatus = strawberry.field(description="Normalized status.")
    source_status: str = strawberry.field(description="The upstream's raw state/status, kept even when unknown to the gateway.")
    progress: int | None = strawberry.field(description="Progress in percent, 0 to 100.")
    category: str | None = strawberry.field(description="DevRev job category, raw (an open set), e.g. `bulk_upgrade`.")
    document_type: DocumentType | None = strawberry.field(description="DocuRift document type; null when DocuRift reports a type the gateway does not know.")
    source_document_type: str | None = strawberry.field(description="DocuRift's raw document type, kept even when unknown to the gateway.")
    document_id: str | None = strawberry.field(description="The document DocuRift created (completed jobs).")
    created_at: datetime = strawberry.field(description="When the job was created.")
    updated_at: datetime | None = strawberry.field(description="When the job last changed.")
    completed_at: datetime | None = strawberry.field(description="When the job completed (DocuRift).")
    failed_at: datetime | None = strawberry.field(description="When the job failed (DocuRift).")
    created_by: User | None = strawberry.field(description="Who created the job (DevRev).")
    modified_by: User | None = strawberry.field(description="Who last modified the job (DevRev).")
    retry_count: int | None = strawberry.field(description="How often the job was retried (DevRev).")
    object_version: int | None = strawberry.field(description="DevRev's object version, incremented on every change.")
    metadata: list[JobMetadata] = strawberry.field(description="DevRev metadata; empty for DocuRift jobs.")
    output_artifacts: list[Artifact] = strawberry.field(description="Files the job produced (DevRev).")
    error: JobError | None = strawberry.field(description="Failure details (DocuRift failed jobs).")

    @classmethod
    @info_free
    def is_type_of(cls, obj: Any, info: GraphQLResolveInfo) -> bool:
        return isinstance(obj, model.Job)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID, info: strawberry.Info) -> Any:
        """One entity of an `_entities` batch: every one goes through the request's loader,
        so N representations cost one upstream call per distinct job, all concurrent."""
        return info.context.jobs.load(id)


@strawberry.type(description="One job in a connection, with the cursor to page from it.")
class JobEdge:
    node: Job = strawberry.field(description="The job.")
    cursor: str = strawberry.field(description="Opaque cursor: pass as `after` or `before` to page from this edge.")


@strawberry.federation.type(shareable=True, description="Where a page sits in the whole list (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More jobs follow this page. With `last`/`before`: true when `before` was given.")
    has_previous_page: bool = strawberry.field(description="Jobs precede this page. With `first`/`after`: true when `after` was given.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge; null on an empty page.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last edge; null on an empty page.")


@strawberry.type(description="How one source took part in a page.")
class SourceInfo:
    source: JobSource = strawberry.field(description="The source.")
    state: SourceState = strawberry.field(description="Whether it was asked and answered.")
    total_count: int | None = strawberry.field(description="Its number of matching jobs, when it reports one (DocuRift does; DevRev does not).")
    message: str | None = strawberry.field(description="Why it was skipped or failed.")


@strawberry.type(description="A page of jobs merged from every source, newest first by default.")
class JobConnection:
    edges: list[JobEdge] = strawberry.field(description="The page's jobs with their cursors.")
    nodes: list[Job] = strawberry.field(description="The page's jobs, without cursors.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
    total_count: int | None = strawberry.field(description="Number of matching jobs in all sources; null unless every included source reports a total.")
    sources: list[SourceInfo] = strawberry.field(description="Per source: included, skipped or failed, and its own total.")


# Descriptions of enum values. The enums themselves are the model's plain Python enums, so
# their values are described here and attached when the schema is built (`describe_values`).
ENUM_VALUE_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "JobSource": {"DEVREV": "A DevRev job (`POST /jobs.list`).", "DOCURIFT": "A DocuRift document-processing job (`GET /v1/jobs`)."},
    "JobStatus": {
        "PENDING": "Waiting to start (DevRev `queued`, DocuRift `pending`).",
        "RUNNING": "In progress (DevRev `running`, DocuRift `processing`).",
        "COMPLETED": "Finished successfully.",
        "FAILED": "Finished with an error.",
        "CANCELLED": "Cancelled before finishing (DevRev `cancelled`/`canceled`).",
        "UNKNOWN": "A state the gateway does not know yet; `sourceStatus` has the raw value.",
    },
    "DocumentType": {
        "INVOICE": "An invoice.",
        "RECEIPT": "A receipt.",
        "CONTRACT": "A contract.",
        "GENERAL": "Any other document.",
        "BILL_OF_LADING": "A bill of lading.",
        "PACKING_LIST": "A packing list.",
    },
    "JobOrderField": {"CREATED_AT": "When the job was created.", "UPDATED_AT": "When the job last changed (or was created, if never)."},
    "OrderDirection": {"ASC": "Oldest first.", "DESC": "Newest first."},
    "SourceState": {
        "OK": "The source answered.",
        "SKIPPED": "The source was not asked: the filter excludes it, or it is not configured.",
        "FAILED": "The source was asked and failed; see `message` and the response's `errors`.",
    },
}


def describe_values(schema: Any) -> None:
    """Attach ENUM_VALUE_DESCRIPTIONS to the built GraphQL schema's enum types."""
    for type_name, values in ENUM_VALUE_DESCRIPTIONS.items():
        enum_type = schema.get_type(type_name)
        for value_name, description in values.items():
            enum_type.values[value_name].description = description
