#!/usr/bin/env python3
"""Writes every note of a kitnotes JSON Lines export as one Markdown file per note, in one
folder per patient, the way plain-text note tools (nb, zk, Obsidian) keep notes: a little front
matter, the title, each section under its heading, then the addenda.

Psychotherapy notes are skipped, as `kitnotes search` leaves them out unless asked.
Usage: notes_to_markdown.py EXPORT.jsonl OUT_DIR   (prints how many notes it wrote)
"""

import json
import os
import sys


def main() -> None:
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    made = set()
    written = 0
    with open(src, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r.get("type") != "note" or r["kind"] == "psychotherapy":
                continue
            folder = os.path.join(out, r["patient"])
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
            parts = [
                "---",
                f"id: {r['id']}",
                f"date: {r['at']}",
                f"status: {r['status']}",
                "---",
                "",
                f"# {r['title']}",
                "",
            ]
            for s in r["sections"]:
                parts += [f"## {s['heading']}", "", s.get("body", ""), ""]
            addenda = r.get("addenda", [])
            if addenda:
                parts += ["## Addenda", ""]
                for a in addenda:
                    parts += [f"- {a['at']} {a['by']}: {a['text']}"]
                parts.append("")
            with open(os.path.join(folder, r["id"] + ".md"), "w", encoding="utf-8") as md:
                md.write("\n".join(parts))
            written += 1
    print(written)


if __name__ == "__main__":
    main()
