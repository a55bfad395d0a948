"""Developer helper: fill msgstr entries of a .po file from a JSON dict {msgid: translation}.

Usage: python scripts/po_fill.py path/to/django.po translations.json
       python scripts/po_fill.py path/to/django.po --missing   (lists untranslated msgids as JSON)
"""

import json
import sys

from babel.messages.pofile import read_po, write_po


def main() -> None:
    path = sys.argv[1]
    with open(path, "rb") as fh:
        catalog = read_po(fh)
    if sys.argv[2] == "--missing":
        missing = [m.id for m in catalog if m.id and not (m.string if isinstance(m.id, str) else all(m.string))]
        print(json.dumps(missing, ensure_ascii=False, indent=1))
        return
    with open(sys.argv[2], encoding="utf-8") as fh:
        translations = json.load(fh)
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in translations:
            value = translations[key]
            message.string = tuple(value) if isinstance(message.id, tuple) else value
            message.flags.discard("fuzzy")
    with open(path, "wb") as fh:
        write_po(fh, catalog, width=120)


if __name__ == "__main__":
    main()
