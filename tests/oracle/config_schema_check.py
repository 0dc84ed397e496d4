"""Checks runwisp.toml files against the JSON Schema `runwisp schema` prints, with Python's own
TOML reader (`tomllib`) and the `jsonschema` package (implementations we did not write).

Input (stdin): {"schema": <the schema>, "documents": [{"name": ..., "toml": <file text>}]}.
Output (stdout): {"schema_error": null or a message (the schema itself is not valid draft
2020-12), "results": [{"name": ..., "valid": bool, "errors": [messages]}]}.
"""

import datetime
import json
import sys
import tomllib

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError


def plain(value):
    """TOML's date-times as strings, everything else as JSON has it."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    return value


def main():
    data = json.load(sys.stdin)
    schema = data["schema"]
    out = {"schema_error": None, "results": []}
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as e:
        out["schema_error"] = str(e.message)
        json.dump(out, sys.stdout)
        return
    validator = Draft202012Validator(schema)
    for doc in data["documents"]:
        try:
            instance = plain(tomllib.loads(doc["toml"]))
        except tomllib.TOMLDecodeError as e:
            out["results"].append(
                {"name": doc["name"], "valid": False, "errors": [f"TOML: {e}"]}
            )
            continue
        errors = []
        for e in validator.iter_errors(instance):
            where = "/".join(str(p) for p in e.absolute_path)
            errors.append(f"/{where}: {e.message}")
        out["results"].append(
            {"name": doc["name"], "valid": not errors, "errors": errors}
        )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
