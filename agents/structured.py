"""Structured answers: a pydantic model as a tool schema, and lenient parsing of what comes back."""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from typing import Any

from pydantic import BaseModel

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*|\s*```$")


@functools.cache
def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every `$ref` inlined (small servers' grammar builders choke on refs) and
    every `const` written as a one-value `enum`.

    Cached per model class (generating a schema costs milliseconds); callers must not mutate it.
    """
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]])
                return resolve(target)
            # pydantic's "title" annotations go (a string); a property named "title" stays (a schema)
            out = {
                key: resolve(value) for key, value in node.items() if not (key == "title" and isinstance(value, str))
            }
            if "const" in out:  # a one-value Literal: as an enum, which every grammar builder knows
                out["enum"] = [out.pop("const")]
            return out
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


@functools.cache
def tool_for(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool_name(model),
            "description": (model.__doc__ or model.__name__).strip().splitlines()[0],
            "parameters": json_schema(model),
        },
    }


def tool_name(model: type[BaseModel]) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", model.__name__).lower()


def extract_json(text: str) -> Any:
    """Parse a model's JSON answer leniently: code fences, prose around the object, raw newlines in strings.

    Raises ValueError with a short reason when no JSON object can be recovered.
    """
    stripped = _FENCE.sub("", text.strip()).strip()
    start = stripped.find("{")
    end = stripped.rfind("}")
    if start < 0:
        raise ValueError("the answer contains no JSON object")
    if end < start:
        raise ValueError("the JSON object is cut off (no closing brace)")
    candidate = stripped[start : end + 1]
    try:
        value = json.loads(candidate, strict=False, parse_constant=_not_a_number, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply") from None
    return unwrap_call(value)


def _not_a_number(constant: str) -> Any:
    raise ValueError(f"invalid JSON: {constant} is not a number JSON allows (write a finite number)")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"invalid JSON: {text[:20]} is too large a number")
    return value


def unwrap_call(value: Any) -> Any:
    """Some servers wrap tool arguments as {"name": ..., "arguments": {...}}."""
    if isinstance(value, dict) and set(value) <= {"name", "arguments", "parameters"}:
        inner = value.get("arguments", value.get("parameters"))
        if isinstance(inner, str):
            return extract_json(inner)
        if isinstance(inner, dict):
            return inner
    return value
