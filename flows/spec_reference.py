"""Render the spec reference (Markdown) from the pydantic models, so the docs never drift."""

from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from flows.spec import ProjectSpec


def _submodel(annotation: Any, depth: int = 0) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (``X``, ``X | None``, ``list[Annotated[X, ...]]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if depth > 3:
        return None
    for t in (*getattr(annotation, "__args__", ()), getattr(annotation, "__origin__", None)):
        found = _submodel(t, depth + 1) if t is not None else None
        if found is not None:
            return found
    return None


def _default(field: Any) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    value = field.default_factory() if field.default_factory else field.default
    if isinstance(value, BaseModel):
        return "see below" if _submodel(field.annotation) else str(value)
    if isinstance(value, timedelta):
        s = int(value.total_seconds())
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if s % size == 0 and s >= size:
                return f"`{s // size}{unit}`"
        return f"`{s}s`"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return "see below"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return f"`{value}`".replace("'", '"')
    return f"`{value!r}`".replace("'", '"') if value is not None else "unset"


def spec_reference() -> str:
    """Markdown tables, one per section, of every key with its default and description."""
    out: list[str] = []
    queue: list[tuple[str, type[BaseModel]]] = [("", ProjectSpec)]
    while queue:
        prefix, model = queue.pop(0)
        title = prefix.rstrip(".") or "top level"
        out.append(f"#### `{title}`\n" if prefix else "#### top level\n")
        out.append("| key | default | description |\n|---|---|---|")
        nested = []
        for name, field in model.model_fields.items():
            key = f"{prefix}{name}"
            sub = _submodel(field.annotation)
            out.append(f"| `{key}` | {_default(field)} | {field.description or ''} |")
            if sub is not None:
                nested.append((f"{key}.", sub))
        out.append("")
        queue[0:0] = nested
    return "\n".join(out)


if __name__ == "__main__":
    print(spec_reference())
