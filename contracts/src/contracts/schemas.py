"""JSON Schemas of the envelope and every event, as published in ``contracts/schemas/``.

``prestaflow-schemas`` (or ``python -m contracts.schemas``) rewrites the folder; ``--check`` exits 1
when a published schema would change incompatibly or is out of date.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from contracts.envelope import Envelope
from contracts.registry import PUBLISHED_MODELS as EVENT_MODELS

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def current_schemas() -> dict[str, dict[str, Any]]:
    schemas = {"Envelope.json": Envelope.model_json_schema(mode="serialization")}
    for model in EVENT_MODELS:
        # Titled by the event type, whatever the class (first versions' classes end in ``V1``).
        schemas[f"{model.event_type}.v{model.event_version}.json"] = {
            **model.model_json_schema(mode="serialization"), "title": model.event_type}
    return schemas


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return _resolve(root["$defs"][ref.removeprefix("#/$defs/")], root)
    return schema


def _alternative(schema: dict[str, Any], root: dict[str, Any], key: str) -> dict[str, Any]:
    """``schema`` itself, or the alternative of its ``anyOf`` (e.g. ``Model | None``) that has ``key``."""
    for alt in schema.get("anyOf", ()):
        alt = _resolve(alt, root)
        if key in alt:
            return alt
    return schema


def _types(schema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return set().union(*(_types(s, root) for s in schema["anyOf"]))
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        return set(kinds)
    if "const" in schema or "enum" in schema:
        return {"enum"}
    return {"any"}


def incompatibilities(old: dict[str, Any], new: dict[str, Any], path: str = "",
                      old_root: dict[str, Any] | None = None,
                      new_root: dict[str, Any] | None = None) -> list[str]:
    """Why a consumer built for ``old`` could not read a message valid under ``new``.

    Within a version only optional fields may be added: removing or renaming a field, making one
    required, or changing its type is incompatible.
    """
    old_root, new_root = old_root or old, new_root or new
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    problems: list[str] = []
    old_types, new_types = _types(old, old_root), _types(new, new_root)
    if "any" not in old_types and not new_types <= old_types:
        problems.append(f"{path or '/'}: type {sorted(old_types)} became {sorted(new_types)}")
    # An optional nested model or list (``X | None``) is an anyOf: compare the alternative with the shape.
    old_obj, new_obj = _alternative(old, old_root, "properties"), _alternative(new, new_root, "properties")
    old_props, new_props = old_obj.get("properties", {}), new_obj.get("properties", {})
    for name, sub in old_props.items():
        if name not in new_props:
            problems.append(f"{path}/{name}: field removed")
        else:
            problems.extend(incompatibilities(sub, new_props[name], f"{path}/{name}", old_root, new_root))
    for name in set(new_obj.get("required", [])) - set(old_obj.get("required", [])):
        problems.append(f"{path}/{name}: field became required" if name in old_props
                        else f"{path}/{name}: new required field")
    for key in ("items",):
        old_arr, new_arr = _alternative(old, old_root, key), _alternative(new, new_root, key)
        if key in old_arr and key in new_arr:
            problems.extend(incompatibilities(old_arr[key], new_arr[key], f"{path}[]", old_root, new_root))
    old_enum, new_enum = _alternative(old, old_root, "enum"), _alternative(new, new_root, "enum")
    if "enum" in old_enum and "enum" in new_enum and set(new_enum["enum"]) - set(old_enum["enum"]):
        problems.append(f"{path}: new enum values {sorted(set(new_enum['enum']) - set(old_enum['enum']))}")
    return problems


def check(directory: Path = SCHEMA_DIR) -> list[str]:
    problems = []
    current = current_schemas()
    for published in sorted(directory.glob("*.json")):
        new = current.get(published.name)
        if new is None:
            problems.append(f"{published.name}: published schema has no model any more")
            continue
        old = json.loads(published.read_text(encoding="utf-8"))
        found = incompatibilities(old, new)
        problems += [f"{published.name}{p}" for p in found]
        if not found and old != new:
            problems.append(f"{published.name}: out of date, run `make schemas`")
    for name in sorted(set(current) - {p.name for p in directory.glob("*.json")}):
        problems.append(f"{name}: not published yet, run `make schemas`")
    if directory == SCHEMA_DIR and (not ASYNCAPI.exists() or ASYNCAPI.read_text(encoding="utf-8") != _asyncapi_text()):
        problems.append("asyncapi.json: out of date, run `make schemas`")
    return problems


ASYNCAPI = SCHEMA_DIR.parent / "asyncapi.json"


def _asyncapi_text() -> str:
    from contracts.asyncapi import document

    return json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    if directory == SCHEMA_DIR:
        ASYNCAPI.write_text(_asyncapi_text(), encoding="utf-8")
    written = [ASYNCAPI] if directory == SCHEMA_DIR else []
    for name, schema in current_schemas().items():
        path = directory / name
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check; exit 1 on a problem")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for p in problems:
            print(p)
        return 1 if problems else 0
    problems = [p for p in check() if "out of date" not in p and "not published" not in p]
    if problems:
        print("Refusing to overwrite: incompatible change (publish a new version instead):")
        for p in problems:
            print(" ", p)
        return 1
    for path in write():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
