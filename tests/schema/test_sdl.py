"""`schema.graphql` is the exported SDL, always equal to what the code builds."""

import subprocess
import sys
from pathlib import Path

from gateway.schema import export_sdl

ROOT = Path(__file__).resolve().parents[2]


def test_schema_file_equals_export():
    assert (ROOT / "schema.graphql").read_text() == export_sdl(), "run: gateway export-schema > schema.graphql"


def test_export_schema_command_prints_it():
    out = subprocess.run([sys.executable, "-m", "gateway", "export-schema"], capture_output=True, text=True, check=True)
    assert out.stdout == export_sdl()


def test_every_type_field_argument_and_enum_value_is_described():
    from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

    from gateway.schema import build_schema

    schema = build_schema()._schema
    missing = []
    for name, gtype in schema.type_map.items():
        # Built-in scalars and federation's own spec types (_Any, _Service, link__...) are not ours.
        if name.startswith("_") or "__" in name or name in ("String", "Int", "Boolean", "ID", "Float"):
            continue
        if not gtype.description:
            missing.append(name)
        if isinstance(gtype, GraphQLEnumType):
            missing += [f"{name}.{value}" for value, definition in gtype.values.items() if not definition.description]
        if isinstance(gtype, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for field_name, field in gtype.fields.items():
                if field_name.startswith("_"):
                    continue
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not arg.description:
                        missing.append(f"{name}.{field_name}({arg_name})")
    assert missing == [], missing
