#!/usr/bin/env python3
"""Validate audit records against docs/audit.schema.json: every property the
schema allows, and their order (the order of the record type's "properties").

  audit_validate.py --state FILE [--running] AUDIT.jsonl...

The state file remembers how far each log was validated (by path, inode and
first bytes),
so that the lab can call this after every daemon stop and at the end of the
test and each record is validated once; a log that was replaced or truncated
is validated from its start. With --running a daemon may still be writing:
a last line without its newline is left for the next call instead of being
an error. Prints "records=N errors=N" (this call's), then one line
"FILE:LINE: error" per bad record (the first 20). Exit 0 when none is bad.
"""
import argparse
import json
import os
import sys

import jsonschema

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "audit.schema.json")
MAX_SHOWN = 20
HEAD = 256  # bytes of a log that identify it


def order_error(schema, rec):
    """The first property out of the schema's order, or None."""
    sub = schema["$defs"].get(rec.get("event"), {}).get("properties", {})
    order = {k: i for i, k in enumerate(sub)}
    last = -1
    for key in rec:
        i = order.get(key)
        if i is None:
            continue  # additionalProperties reports it
        if i < last:
            return "property %r out of order (schema order: %s)" % (key, ", ".join(sub))
        last = i
    return None


def check_line(validators, schema, text):
    try:
        rec = json.loads(text)
    except ValueError as e:
        return "not JSON: %s" % e
    if not isinstance(rec, dict):
        return "not a JSON object"
    # The record type's own definition is what the whole schema applies to a
    # record of that type (and twice as fast); the whole schema says why not.
    if not validators.get(rec.get("event"), validators[None]).is_valid(rec):
        err = jsonschema.exceptions.best_match(validators[None].iter_errors(rec))
        where = "/".join(str(p) for p in err.absolute_path)
        return "%s%s" % (where + ": " if where else "", err.message)
    return order_error(schema, rec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--running", action="store_true")
    ap.add_argument("logs", nargs="*")
    args = ap.parse_args()
    with open(SCHEMA) as f:
        schema = json.load(f)
    validators = {None: jsonschema.Draft202012Validator(schema)}
    for event in schema["properties"]["event"]["enum"]:
        validators[event] = jsonschema.Draft202012Validator(dict(schema["$defs"][event], **{"$defs": schema["$defs"]}))
    try:
        with open(args.state) as f:
            state = json.load(f)
    except FileNotFoundError:
        state = {}
    records = 0
    errors = []
    for path in args.logs:
        key = os.path.realpath(path)
        st = os.stat(path)
        seen = state.get(key)
        with open(path, "rb") as f:
            # The same file only if its first record is still the one seen:
            # a log truncated and written again may have grown past the offset.
            head = f.read(HEAD).decode("latin-1")
            if not seen or seen["ino"] != st.st_ino or seen["offset"] > st.st_size or \
                    not head.startswith(seen["head"]):
                seen = {"ino": st.st_ino, "offset": 0, "line": 0, "head": ""}
            f.seek(seen["offset"])
            for raw in f:
                if not raw.endswith(b"\n") and args.running:
                    break
                seen["line"] += 1
                seen["offset"] += len(raw)
                seen["head"] = head[:seen["offset"]]
                records += 1
                if not raw.endswith(b"\n"):
                    errors.append("%s:%d: no newline at the end of the record" % (path, seen["line"]))
                    continue
                msg = check_line(validators, schema, raw.decode("utf-8", "replace"))
                if msg:
                    errors.append("%s:%d: %s" % (path, seen["line"], msg))
        state[key] = seen
    with open(args.state, "w") as f:
        json.dump(state, f)
    print("records=%d errors=%d" % (records, len(errors)))
    for e in errors[:MAX_SHOWN]:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
