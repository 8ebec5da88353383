"""docs/api.md from the app's OpenAPI schema, so the document cannot drift from the code:

    python -m monitor.web.apidoc > docs/api.md

(tests/test_api_doc.py fails when the file is not what this prints.)
"""

from __future__ import annotations

import json
from typing import Any

INTRO = """# The console's JSON API

Generated from the OpenAPI schema by `python -m monitor.web.apidoc > docs/api.md`; the live
schema is served at `/api/openapi.json`. Field names are a public interface.

## Authentication

- **Session cookie**: sign in at `/login` (form fields `username`, `password`). Every unsafe
  request (POST) made with the cookie must carry the session's CSRF token in the
  `X-CSRF-Token` header (or the form field `csrf_token`); without it the answer is 403.
- **Bearer token**: `Authorization: Bearer TOKEN`, a personal token from
  `sunlight users token NAME` (shown once; only its SHA-256 is kept). A request with an
  `Authorization` header is authenticated by the token alone, never by a cookie, and needs
  no CSRF token. A disabled user's tokens stop working.

```sh
TOKEN=$(sunlight users token jjjc)
curl -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:8080/api/alerts?level=red&state=open&limit=20'
curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
     -d '{"note": "已电话督促承办人"}' http://127.0.0.1:8080/api/alerts/17/ack
```

## What a caller sees, and the errors

The office (`office`) sees every department; a department user (`department`) only its own
department's cases and alerts; an operator (`operator`) no case content. Every error is
`{"detail": "中文原因"}`:

| status | when |
|---|---|
| 401 | no session and no token, or a token that is unknown or whose user is disabled |
| 403 | the role may not do this (an operator reading alerts, acknowledging one), or no CSRF token |
| 404 | the case or alert does not exist **or belongs to another department**: the two answers are the same |
| 409 | the alert is not in a state the action applies to (already acknowledged or closed) |
| 422 | a parameter or body field is invalid (`errors` lists them) |

## Endpoints
"""


def _type(schema: dict[str, Any], components: dict[str, Any]) -> str:
    if "$ref" in schema:
        return "`" + str(schema["$ref"]).rsplit("/", 1)[1] + "`"
    if "anyOf" in schema:
        return " or ".join(_type(s, components) for s in schema["anyOf"])
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(v, ensure_ascii=False)}`" for v in schema["enum"])
    if schema.get("type") == "array":
        return "list of " + _type(schema.get("items", {}), components)
    if "const" in schema:
        return f"`{json.dumps(schema['const'], ensure_ascii=False)}`"
    return str(schema.get("type", "object"))


def _limits(schema: dict[str, Any]) -> str:
    parts = []
    for key, word in (
        ("minimum", "≥"),
        ("maximum", "≤"),
        ("minLength", "length ≥"),
        ("maxLength", "length ≤"),
    ):
        if key in schema:
            parts.append(f"{word} {schema[key]}")
    return ", ".join(parts)


def _model(name: str, schema: dict[str, Any], components: dict[str, Any]) -> list[str]:
    out = [f"### `{name}`", "", "| field | type | required | notes |", "|---|---|---|---|"]
    required = set(schema.get("required", ()))
    for field, spec in schema.get("properties", {}).items():
        notes = "; ".join(x for x in (spec.get("description", ""), _limits(spec)) if x)
        out.append(
            f"| `{field}` | {_type(spec, components)} | {'yes' if field in required else 'no'} | {notes} |"
        )
    return [*out, ""]


def markdown(spec: dict[str, Any]) -> str:
    components = spec.get("components", {}).get("schemas", {})
    out = [INTRO]
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            out += [
                f"### `{method.upper()} {path}`",
                "",
                (op.get("description") or op.get("summary", "")).strip(),
                "",
            ]
            params = op.get("parameters", [])
            if params:
                out += ["| parameter | in | type | notes |", "|---|---|---|---|"]
                for p in params:
                    schema = p.get("schema", {})
                    default = f"default `{schema['default']}`" if "default" in schema else ""
                    notes = ", ".join(x for x in (default, _limits(schema)) if x)
                    out.append(f"| `{p['name']}` | {p['in']} | {_type(schema, components)} | {notes} |")
                out.append("")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                out += [f"Body: {_type(body, components)} (JSON).", ""]
            answers = []
            for status, answer in op.get("responses", {}).items():
                if status == "422":
                    continue
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                shape = f" — {_type(schema, components)}" if schema and status.startswith("2") else ""
                answers.append(f"`{status}` {answer.get('description', '')}{shape}")
            out += ["Answers: " + "; ".join(answers) + ".", ""]
    out += ["## Schemas", ""]
    for name, schema in components.items():
        if name in ("HTTPValidationError", "ValidationError") or name.startswith("ValidationError"):
            continue
        out += _model(name, schema, components)
    return "\n".join(out).rstrip() + "\n"


def openapi() -> dict[str, Any]:
    """The schema of an app built without databases (the schema needs none)."""
    from typing import cast

    from monitor.config import WebConfig
    from monitor.console.context import Services
    from monitor.web.app import create_app

    app = create_app(cast(Services, None), WebConfig(), "x" * 32)
    return app.openapi()


if __name__ == "__main__":
    print(markdown(openapi()), end="")
