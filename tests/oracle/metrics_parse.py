"""Parses what runwisp's `GET /metrics` answered with Python's OpenMetrics parser (the
`prometheus_client` package, an implementation we did not write), which refuses anything that
is not valid OpenMetrics text: a missing `# EOF`, a counter sample without `_total`, buckets
that are not cumulative, a unit that is not the name's suffix, a repeated series, ...

Input (stdin): the text. Output (stdout): JSON, one object per metric family:
{"name", "type", "unit", "samples": [{"name", "labels", "value"}]}. Exits 1 with the parser's
complaint when the text is not valid.
"""

import json
import math
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def value(v):
    # JSON has no infinity; none of runwisp's values should be one.
    return v if math.isfinite(v) else str(v)


def main():
    text = sys.stdin.read()
    try:
        families = [
            {
                "name": family.name,
                "type": family.type,
                "unit": family.unit,
                "samples": [
                    {"name": s.name, "labels": s.labels, "value": value(s.value)}
                    for s in family.samples
                ],
            }
            for family in text_string_to_metric_families(text)
        ]
    except Exception as e:  # the parser raises ValueError and friends
        print(f"not valid OpenMetrics text: {e!r}", file=sys.stderr)
        sys.exit(1)
    json.dump(families, sys.stdout)


if __name__ == "__main__":
    main()
