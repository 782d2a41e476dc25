#!/usr/bin/env python3
"""Audit entries read back from the journal (`journalctl -o json`, one per line)
against what the audit sink promises: MESSAGE is a JSON audit line, and the
STEER_* fields are exactly its members, each with the member's text as the
line has it (numbers unparsed: 1.500 stays "1.500"); SYSLOG_IDENTIFIER=steer,
PRIORITY=6, SYSLOG_FACILITY as given. Prints entries=N bad=N; the first bad
entry on stderr."""
import json
import sys


def text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return "null" if v is None else v


def main():
    path, facility = sys.argv[1], sys.argv[2]
    entries = bad = 0
    with open(path) as f:
        for raw in f:
            e = json.loads(raw)
            entries += 1
            why = None
            try:
                members = json.loads(e["MESSAGE"], parse_float=str, parse_int=str, object_pairs_hook=list)
            except (KeyError, ValueError) as err:
                members, why = [], f"MESSAGE is not JSON: {err}"
            want = {"STEER_" + k.upper(): text(v) for k, v in members}
            got = {k: v for k, v in e.items() if k.startswith("STEER_")}
            if why is None and (len(want) != len(members) or want != got):
                why = f"fields {got} != members {want}"
            for k, v in (("SYSLOG_IDENTIFIER", "steer"), ("PRIORITY", "6"), ("SYSLOG_FACILITY", facility)):
                if why is None and e.get(k) != v:
                    why = f"{k}={e.get(k)!r}, want {v!r}"
            if why:
                if not bad:
                    print(f"bad entry: {why}: {raw.strip()}", file=sys.stderr)
                bad += 1
    print(f"entries={entries} bad={bad}")


main()
