"""How much one request may ask for: depth, aliases, tokens, batch size, page sizes, cost.

Every limit is checked before any resolver runs, so a refused query costs no upstream
request, and every refusal carries its own `extensions.code`:

- tokens: the parser stops at `max_tokens` (strawberry's `MaxTokensLimiter`; comments count
  too) -> `TOO_MANY_TOKENS` (the code is given in `errors.coded`, from the parser's message);
- depth and aliases: validation rules -> `QUERY_TOO_DEEP`, `TOO_MANY_ALIASES`; introspection
  nested in itself (`fields { type { fields ...`) is graphql-core's own rule, coded
  `QUERY_TOO_DEEP` too (in `errors.coded`);
- introspection, when off: graphql-core's `NoSchemaIntrospectionCustomRule` (what strawberry's
  `DisableIntrospection` adds) -> `INTROSPECTION_DISABLED`; `__typename` and Apollo
  Federation's `_service { sdl }` stay allowed;
- operations per batched HTTP request: `StrawberryConfig(batching_config=...)`;
- `first`/`last` above `max_page_size`, `nodes(ids:)` longer than `MAX_IDS`, and the query's
  cost above `max_cost` -> `BAD_USER_INPUT` / `QUERY_TOO_COSTLY`, checked by `QueryCost`.

Depth and aliases are our own rules, not strawberry's `QueryDepthLimiter` and
`MaxAliasesLimiter`: those walk a fragment once per spread, so a document of 30 fragments
that each spread the next one twice (some 300 tokens) keeps them busy for hours (20 such
fragments: 5 s and 1.6 s, measured). `QueryDepthLimiter` also crashes (so: `INTERNAL`) on an
unknown fragment and on an empty selection set, which graphql-core 3.3 accepts, and reports
one error per too-deep leaf. Ours fold each fragment once (memoized), so their time is
linear in the document, and report one error per operation. Their meaning is strawberry's:
depth counts nested selection sets below the root fields (`{ jobs { totalCount } }` is 1),
introspection fields (`__schema`, `__type`) are not counted, and every spread of a
fragment counts its aliases again.

The cost needs variable values (`jobs(first: $n)`), which validation rules never see (and
strawberry's `ValidationCache` keys validation on the document alone, so a rule fed the
variables would answer a later request with another's verdict). So it runs as an
`on_execute` hook: after validation has passed, with `execution_context.variables`, and
before graphql-core executes anything; a refusal sets the result, and execution is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
    is_introspection_type,
    parse,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.language import DocumentNode, Node
from graphql.language.visitor import SKIP
from graphql.validation import ValidationRule
from graphql.validation.rules.custom.no_schema_introspection import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension

from gateway.envvars import boolean, whole_number
from gateway.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
BAD_USER_INPUT = "BAD_USER_INPUT"

MAX_IDS = 100  # `nodes(ids:)`: one wave of concurrent upstream lookups

MAX_DEPTH = "GATEWAY_MAX_DEPTH"
MAX_ALIASES = "GATEWAY_MAX_ALIASES"
MAX_TOKENS = "GATEWAY_MAX_TOKENS"
MAX_OPERATIONS = "GATEWAY_MAX_OPERATIONS"
MAX_PAGE = "GATEWAY_MAX_PAGE_SIZE"
MAX_COST = "GATEWAY_MAX_COST"
INTROSPECTION = "INTROSPECTION"



@dataclass(frozen=True, slots=True)
class QueryLimits:
    """The limits one schema enforces. The defaults let every documented query through."""

    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 2000
    max_operations: int = 10
    max_page_size: int = MAX_PAGE_SIZE
    # A full page of 100 jobs with every field (users, artifacts, metadata) costs about 7,000,
    # and so do 100 ids in `nodes(ids:)` with every field: 20,000 lets either through twice.
    max_cost: int = 20_000
    introspection: bool = True

    def __post_init__(self) -> None:
        for name, value in (
            (MAX_DEPTH, self.max_depth),
            (MAX_ALIASES, self.max_aliases),
            (MAX_TOKENS, self.max_tokens),
            (MAX_OPERATIONS, self.max_operations),
            (MAX_PAGE, self.max_page_size),
            (MAX_COST, self.max_cost),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive whole number, got {value!r}")
        if self.max_page_size > MAX_PAGE_SIZE:
            raise ValueError(f"{MAX_PAGE} can lower the page size, not raise it above {MAX_PAGE_SIZE}; got {self.max_page_size}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> QueryLimits:
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            max_depth=whole_number(env, MAX_DEPTH, defaults.max_depth),
            max_aliases=whole_number(env, MAX_ALIASES, defaults.max_aliases),
            max_tokens=whole_number(env, MAX_TOKENS, defaults.max_tokens),
            max_operations=whole_number(env, MAX_OPERATIONS, defaults.max_operations),
            max_page_size=whole_number(env, MAX_PAGE, defaults.max_page_size),
            max_cost=whole_number(env, MAX_COST, defaults.max_cost),
            introspection=boolean(env, INTROSPECTION, defaults.introspection),
        )


# --- extensions -------------------------------------------------------------------------


def limit_extensions(limits: QueryLimits) -> list[Any]:
    """Schema extension factories enforcing `limits`.

    The rule classes are made here, once: strawberry's `ValidationCache` keys on the rule
    classes, so one set per schema keeps its hits (a set per request would never hit).
    """
    rules: list[type[ValidationRule]] = [depth_rule(limits.max_depth), alias_rule(limits.max_aliases)]
    if not limits.introspection:
        rules.append(NoIntrospection)
    return [
        lambda: MaxTokensLimiter(limits.max_tokens),
        lambda: AddValidationRules(rules),
        lambda: QueryCost(limits),
    ]


# --- depth and aliases ------------------------------------------------------------------


class _Fold:
    """A number folded over selection sets, each fragment's computed once (memoized).

    Runs on documents that are not validated yet: unknown fragments count 0 and a fragment
    cycle is cut (the spec rules report both).
    """

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.memo: dict[tuple[str, bool], int] = {}
        self.active: set[str] = set()

    def spread(self, name: str, root: bool = False) -> int:
        key = (name, root)
        value = self.memo.get(key)
        if value is not None:
            return value
        fragment = self.fragments.get(name)
        if fragment is None or name in self.active:
            return 0
        self.active.add(name)
        try:
            value = self.memo[key] = self.of(fragment.selection_set, root)
        finally:
            self.active.discard(name)
        return value

    def of(self, selection_set: SelectionSetNode, root: bool = False) -> int:  # pragma: no cover
        raise NotImplementedError


class _Depth(_Fold):
    def of(self, selection_set: SelectionSetNode, root: bool = False) -> int:
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.selection_set is None or selection.name.value.startswith("__"):
                    continue
                depth = 1 + self.of(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                depth = self.of(selection.selection_set)
            else:
                depth = self.spread(selection.name.value)
            deepest = max(deepest, depth)
        return deepest


class _Aliases(_Fold):
    def of(self, selection_set: SelectionSetNode, root: bool = False) -> int:
        count = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                count += selection.alias is not None
                if selection.selection_set is not None:
                    count += self.of(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                count += self.of(selection.selection_set)
            else:
                count += self.spread(selection.name.value)
        return count


def _operations(document: DocumentNode) -> Iterator[OperationDefinitionNode]:
    return (d for d in document.definitions if isinstance(d, OperationDefinitionNode))


def _coded(message: str, node: Node | None, code: str, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": code, **extensions})


def depth_rule(limit: int) -> type[ValidationRule]:
    class MaxDepth(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> Any:
            fold = _Depth(node)
            for operation in _operations(node):
                depth = fold.of(operation.selection_set)
                if depth > limit:
                    self.report_error(
                        _coded(f"The query nests {depth} levels deep; the limit is {limit}.", operation, QUERY_TOO_DEEP, depth=depth, limit=limit)
                    )
            return SKIP

    return MaxDepth


def alias_rule(limit: int) -> type[ValidationRule]:
    class MaxAliases(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> Any:
            fold = _Aliases(node)
            for operation in _operations(node):
                count = fold.of(operation.selection_set)
                if count > limit:
                    self.report_error(
                        _coded(f"The query uses {count} aliases; the limit is {limit}.", operation, TOO_MANY_ALIASES, aliases=count, limit=limit)
                    )
            return SKIP

    return MaxAliases


class NoIntrospection(NoSchemaIntrospectionCustomRule):
    """graphql-core's rule (strawberry's `DisableIntrospection`), coded, one error per entry.

    Introspection is entered through `__schema` or `__type` only; the rule as it stands also
    reports every field below them, in fragments too (ten errors for GraphiQL's query).
    """

    def enter_field(self, node: FieldNode, *_args: Any) -> Any:
        named = get_named_type(self.context.get_type())
        if node.name.value in ("__schema", "__type") and named is not None and is_introspection_type(named):
            self.report_error(
                _coded(f"Introspection is disabled on this server; the query asks for '{node.name.value}'.", node, INTROSPECTION_DISABLED)
            )
            return SKIP
        return None


# --- page sizes, ids and cost -------------------------------------------------------------


class _Unknown(Exception):
    """An argument's value cannot be known before execution (execution will report why)."""


_SIZING = {"jobs": ("first", "last"), "nodes": ("ids",), "_entities": ("representations",)}
_LISTS = frozenset({"ids", "representations"})
_MISSING = object()


def _variables_in(value: ValueNode, names: set[str]) -> None:
    if isinstance(value, VariableNode):
        names.add(value.name.value)
    elif isinstance(value, ListValueNode):
        for item in value.values:
            _variables_in(item, names)
    elif isinstance(value, ObjectValueNode):
        for item in value.fields:
            _variables_in(item.value, names)


class _Cost(_Fold):
    """Each field costs 1; below the root, `jobs` multiplies its subtree by its page size
    (`first`/`last`, else 20), `nodes` by its number of ids, `_entities` by its number of
    representations. Fragments are followed (each spread counts again); `@skip`/`@include`
    are ignored, so the cost is an upper bound."""

    def __init__(self, document: DocumentNode, schema: Any, operation: OperationDefinitionNode, variables: Mapping[str, Any] | None, limits: QueryLimits) -> None:
        super().__init__(document)
        self.schema = schema
        self.root_fields = schema.query_type.fields
        self.operation = operation
        self.raw_variables = variables or {}
        self.limits = limits
        self.errors: list[GraphQLError] = []

    def of(self, selection_set: SelectionSetNode, root: bool = False) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                below = self.of(selection.selection_set) if selection.selection_set is not None else 0
                total += 1 + (self.multiplier(selection) if root else 1) * below
            elif isinstance(selection, InlineFragmentNode):
                total += self.of(selection.selection_set, root)
            else:
                total += self.spread(selection.name.value, root)
        return total

    def multiplier(self, node: FieldNode) -> int:
        name = node.name.value
        if name not in ("jobs", "nodes", "_entities"):
            return 1
        args = self.arguments(node)
        if name == "jobs":
            sizes = [args[key] for key in ("first", "last") if args.get(key) is not None]
            for key in ("first", "last"):
                value = args.get(key)
                if value is not None and not 0 <= value <= self.limits.max_page_size:
                    self.refuse(node, f"`{key}` must be between 0 and {self.limits.max_page_size}; got {value}.", key)
            return max([0, *sizes]) if sizes else DEFAULT_PAGE_SIZE
        items = args.get("ids" if name == "nodes" else "representations") or ()
        if name == "nodes" and len(items) > MAX_IDS:
            self.refuse(node, f"`ids` takes at most {MAX_IDS} ids; got {len(items)}.", "ids")
        return len(items)

    def arguments(self, node: FieldNode) -> dict[str, Any]:
        """The sizing arguments, coerced as execution will (variables, defaults, lists).

        Only those: coercing the others (a filter's dates, say) would double that work."""
        wanted = _SIZING[node.name.value]
        kept = tuple(argument for argument in node.arguments or () if argument.name.value in wanted)
        plain = self.plain(kept)
        if plain is not None:
            return plain
        names: set[str] = set()
        for argument in kept:
            _variables_in(argument.value, names)
        coerced = None
        if names:
            definitions = [d for d in self.operation.variable_definitions or () if d.variable.name.value in names]
            coerced = get_variable_values(self.schema, definitions, dict(self.raw_variables))
            if isinstance(coerced, list):
                raise _Unknown
        try:
            return get_argument_values(self.root_fields[node.name.value], FieldNode(name=node.name, arguments=kept), coerced)
        except GraphQLError:
            raise _Unknown from None

    def plain(self, arguments: tuple[ArgumentNode, ...]) -> dict[str, Any] | None:
        """The common cases without graphql-core's coercion (most of the check's time): a
        literal, or a variable holding an int or a list. None: coerce as execution will."""
        values: dict[str, Any] = {}
        for argument in arguments:
            node, name = argument.value, argument.name.value
            if isinstance(node, VariableNode):
                value = self.raw_variables.get(node.name.value, _MISSING)
                if value is None or (type(value) is list if name in _LISTS else type(value) is int and -(2**31) <= value < 2**31):
                    values[name] = value
                    continue
                return None
            if isinstance(node, IntValueNode):
                values[name] = int(node.value)
            elif isinstance(node, ListValueNode):
                values[name] = node.values  # only its length is used
            elif isinstance(node, NullValueNode):
                values[name] = None
            else:
                return None
        return values

    def refuse(self, node: FieldNode, message: str, argument: str) -> None:
        self.errors.append(_coded(message, node, BAD_USER_INPUT, argument=argument))


def check_request(schema: Any, document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None, limits: QueryLimits) -> list[GraphQLError]:
    """Refusals for a validated document: page sizes and ids first, then the cost."""
    if variables is not None and not isinstance(variables, Mapping):
        # The HTTP layer refuses these; a batch's items reach here unchecked (graphql-core would crash).
        return [_coded("`variables` must be a JSON object.", None, BAD_USER_INPUT)]
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return []  # execution reports why it cannot run this
    cost = _Cost(document, schema, operation, variables, limits)
    try:
        total = cost.of(operation.selection_set, root=True)
    except _Unknown:
        return []
    if cost.errors:
        return cost.errors
    if total > limits.max_cost:
        return [
            _coded(
                f"The query costs {total}; the limit is {limits.max_cost}. "
                "Ask for fewer jobs (`first`/`last`), fewer ids or fewer fields.",
                operation,
                QUERY_TOO_COSTLY,
                cost=total,
                limit=limits.max_cost,
            )
        ]
    return []


def query_cost(schema: Any, query: str, variables: Mapping[str, Any] | None = None, operation_name: str | None = None) -> int:
    """The cost `QueryCost` computes for a valid query (for tests and for sizing the limit)."""
    document = parse(query)
    operation = get_operation_ast(document, operation_name)
    assert operation is not None
    fold = _Cost(document, schema, operation, variables, QueryLimits(max_cost=1 << 62))
    return fold.of(operation.selection_set, root=True)


class QueryCost(SchemaExtension):
    """Refuses over-size pages, too many ids and too costly queries before execution."""

    def __init__(self, limits: QueryLimits) -> None:
        super().__init__()
        self.limits = limits

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.result is None and context.graphql_document is not None:
            errors = check_request(
                context.schema._schema, context.graphql_document, context.operation_name, context.variables, self.limits
            )
            if errors:
                context.result = GraphQLExecutionResult(data=None, errors=errors)
        yield
