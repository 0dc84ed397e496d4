"""Validates real answers of the runwisp daemon against its own OpenAPI document, with the
`jsonschema` package (an implementation of JSON Schema we did not write).

Input (stdin): {"document": <openapi.json>, "answers": [{"method", "path", "status", "body"}]}
where `path` is the route's template (as in the document). Prints one line per answer and
exits 1 when any answer does not match the schema the document gives for its status.
"""

import json
import sys

from jsonschema import Draft202012Validator


def main():
    data = json.load(sys.stdin)
    doc = data["document"]
    failures = 0
    for answer in data["answers"]:
        method, path, status = answer["method"].lower(), answer["path"], str(answer["status"])
        responses = doc["paths"][path][method]["responses"]
        if status not in responses:
            print(f"FAIL {method.upper()} {path}: status {status} is not documented")
            failures += 1
            continue
        content = responses[status].get("content", {})
        media = "application/problem+json" if int(status) >= 400 else "application/json"
        if media not in content:
            print(f"FAIL {method.upper()} {path} {status}: no {media} schema documented")
            failures += 1
            continue
        # The document's components travel with the schema, so its $refs resolve.
        schema = dict(content[media]["schema"])
        schema["components"] = doc["components"]
        errors = list(Draft202012Validator(schema).iter_errors(answer["body"]))
        if errors:
            failures += 1
            for e in errors[:5]:
                where = "/".join(str(p) for p in e.absolute_path)
                print(f"FAIL {method.upper()} {path} {status} at /{where}: {e.message}")
        else:
            print(f"ok   {method.upper()} {path} {status}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
