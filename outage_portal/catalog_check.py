"""Report untranslated and fuzzy entries of a catalog: `python -m outage_portal.catalog_check FILE`."""

import sys

from babel.messages.pofile import read_po


def catalog_problems(path: str) -> dict[str, list[str]]:
    """The msgids of `path` with no translation, and those marked fuzzy (a guess, usually wrong)."""
    with open(path, "rb") as fh:
        catalog = read_po(fh)
    untranslated, fuzzy = [], []
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if not all(strings):
            untranslated.append(msgid)
        if message.fuzzy:
            fuzzy.append(msgid)
    return {"untranslated": untranslated, "fuzzy": fuzzy}


if __name__ == "__main__":
    problems = catalog_problems(sys.argv[1])
    for kind, msgids in problems.items():
        for msgid in msgids:
            print(f"{kind}: {msgid}")
    sys.exit(1 if any(problems.values()) else 0)
