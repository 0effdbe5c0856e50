#!/usr/bin/env python3
"""Writes every note of a kitnotes JSON Lines export into one jrnl journal (jrnl's plain-text
format: `[YYYY-MM-DD HH:MM] title`, then the body), oldest first, with a jrnl config file that
points at it, unencrypted, without colours, for benches/compare.sh to time `jrnl -contains`.

Psychotherapy notes are skipped, as `kitnotes search` leaves them out unless asked.
Usage: notes_to_jrnl.py EXPORT.jsonl OUT_DIR   (writes OUT_DIR/journal.txt and
OUT_DIR/jrnl.yaml; prints how many notes it wrote)
"""

import json
import os
import sys


def main() -> None:
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    entries = []
    with open(src, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r.get("type") != "note" or r["kind"] == "psychotherapy":
                continue
            # "2026-03-04T09:30:00Z" -> "2026-03-04 09:30"
            at = r["at"].replace("T", " ")[:16]
            body = []
            for s in r["sections"]:
                body += [s["heading"], s.get("body", ""), ""]
            for a in r.get("addenda", []):
                body.append(f"Addendum {a['at']} {a['by']}: {a['text']}")
            # A line that looks like an entry's start would split the entry: indent it.
            text = "\n".join(" " + l if l.startswith("[") else l for l in body)
            title = r["title"].replace("\n", " ")
            entries.append((at, f"[{at}] {title}\n{text.strip()}\n"))
    entries.sort(key=lambda e: e[0])
    journal = os.path.abspath(os.path.join(out, "journal.txt"))
    with open(journal, "w", encoding="utf-8") as j:
        j.write("\n".join(e[1] for e in entries))
    with open(os.path.join(out, "jrnl.yaml"), "w", encoding="utf-8") as c:
        c.write(
            "colors: {body: none, date: none, tags: none, title: none}\n"
            "default_hour: 9\ndefault_minute: 0\neditor: ''\nencrypt: false\n"
            "highlight: false\nindent_character: '|'\n"
            f"journals:\n  default:\n    journal: {journal}\n"
            "linewrap: 79\ntagsymbols: '#@'\ntemplate: false\n"
            "timeformat: '%Y-%m-%d %H:%M'\nversion: v4.6\n"
        )
    print(len(entries))


if __name__ == "__main__":
    main()
