"""Execution with a fast path for plain fields.

graphql-core executes every field the same way: build a `ResolveInfo`, call the resolver,
check for awaitables, complete the value, track the path. A page of 100 jobs has about
1,500 fields, and nearly all of them are attributes of a model object that strawberry would
read with `getattr`. Doing that bookkeeping for each one costs several milliseconds a page.

So, per selection, this executor compiles each *plain* field — strawberry's basic field
(no resolver, no arguments, no field extension), whose type is a scalar or enum, or an
object or list of objects whose own selections are plain too — into a small function
that reads the attribute and serializes it. Everything else, and any plain field that does
not come out as expected (a null for a non-null type, a serializer that fails, an
`is_type_of` that says no, an exception), goes through graphql-core's own path, which then
reports it exactly as it always would. The answer is the same; only the time differs.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

Complete = Callable[[Any], Any]
Step = tuple[str, Any, Complete | None]  # response name, field details, fast completion


def info_free(is_type_of: Callable[..., bool]) -> Callable[..., bool]:
    """Mark an `is_type_of` that never reads its `info`, so the fast path may call it."""
    is_type_of.__info_free__ = True  # type: ignore[attr-defined]
    return is_type_of


def _enum_names(leaf: Any) -> dict[int, str]:
    """A Python enum's members by identity, with the names strawberry serializes them to.

    Strawberry finds an enum member's name by scanning the type's values and reading
    `.value` on each (a slow descriptor), for every field; members are singletons, so the
    answer is looked up by `id` instead. Anything else still goes through `serialize`.
    """
    wrapped = getattr(leaf, "wrapped_cls", None)
    if not isinstance(leaf, GraphQLEnumType) or not (isinstance(wrapped, type) and issubclass(wrapped, enum.Enum)):
        return {}
    names: dict[int, str] = {}
    for member in wrapped:
        try:
            names[id(member)] = leaf.serialize(member)
        except Exception:  # noqa: BLE001 - a member the GraphQL enum lacks keeps the slow path
            continue
    return names


class _Fallback(Exception):
    """A plain field held something unexpected: let graphql-core complete (and report) it."""


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._steps: dict[int, tuple[Any, list[Step]]] = {}
        self._completers: dict[tuple[int, int], tuple[Any, Complete | None]] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            # A schema extension that hooks `resolve` must see every field: no fast path.
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for name, details, complete in self._plan(parent_type, grouped_field_set):
                if complete is not None:
                    try:
                        results[name] = complete(source_value)
                        continue
                    except Exception:  # noqa: BLE001 - graphql-core's path reports it
                        pass
                result = self.execute_field(
                    parent_type, source_value, details, Path(path, name, parent_type.name), position_context
                )
                if result is not Undefined:
                    results[name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    # -- compiling ------------------------------------------------------------------------

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[Step]:
        # Grouped field sets are memoized per executor (collect_subfields), so a list of
        # 100 edges compiles its selection once. The set is kept alive with its plan so
        # that its id cannot be reused while this executor lives.
        key = id(grouped_field_set)
        cached = self._steps.get(key)
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        steps: list[Step] = [
            (name, details, self._field(parent_type, details)) for name, details in grouped_field_set.items()
        ]
        self._steps[key] = (grouped_field_set, steps)
        return steps

    def _field(self, parent_type: GraphQLObjectType, details: Any) -> Complete | None:
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            type_name = parent_type.name
            return lambda source: type_name
        field_def = self.schema.get_field(parent_type, name)
        if field_def is None or field_def.args or node.arguments:
            return None
        if not getattr(field_def.resolve, "_is_default", False):
            return None
        definition = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if definition is None or definition.default_resolver is not getattr:
            return None
        complete = self._completer(field_def.type, details)
        if complete is None:
            return None
        attribute = definition.python_name
        return lambda source: complete(getattr(source, attribute))

    def _completer(self, type_: GraphQLOutputType, details: Any) -> Complete | None:
        key = (id(type_), id(details))
        cached = self._completers.get(key)
        if cached is not None and cached[0] is details:
            return cached[1]
        complete = self._compile(type_, details)
        self._completers[key] = (details, complete)
        return complete

    def _compile(self, type_: GraphQLOutputType, details: Any) -> Complete | None:
        required = is_non_null_type(type_)
        inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        inner_complete: Complete
        if is_leaf_type(inner):
            serialize = inner.serialize  # type: ignore[union-attr]
            names = _enum_names(inner)

            def inner_complete(value: Any) -> Any:
                name = names.get(id(value))
                if name is not None:
                    return name
                serialized = serialize(value)
                if serialized is None or serialized is Undefined:
                    raise _Fallback
                return serialized

        elif is_list_type(inner):
            item = self._completer(inner.of_type, details)  # type: ignore[union-attr]
            if item is None:
                return None

            def inner_complete(value: Any) -> Any:
                if not isinstance(value, (list, tuple)):
                    raise _Fallback
                return [item(entry) for entry in value]

        elif is_object_type(inner):
            inner_complete = self._object(inner, details)  # type: ignore[arg-type, assignment]
            if inner_complete is None:
                return None
        else:
            return None  # interfaces and unions resolve their type through graphql-core

        def complete(value: Any) -> Any:
            if value is None:
                if required:
                    raise _Fallback
                return None
            return inner_complete(value)

        return complete

    def _object(self, object_type: GraphQLObjectType, details: Any) -> Complete | None:
        is_type_of = object_type.is_type_of
        if is_type_of is not None and not getattr(is_type_of, "__info_free__", False):
            return None
        grouped_field_set, defer_usages, _ = self.collect_subfields(object_type, details)
        if defer_usages:
            return None
        fields: list[tuple[str, Complete]] = []
        for name, sub_details in grouped_field_set.items():
            complete = self._field(object_type, sub_details)
            if complete is None:
                return None
            fields.append((name, complete))

        def complete_object(value: Any) -> dict[str, Any]:
            if is_type_of is not None and not is_type_of(value, None):
                raise _Fallback
            return {name: complete(value) for name, complete in fields}

        return complete_object


__all__ = ["FastExecutionContext", "info_free"]
