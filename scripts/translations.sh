#!/usr/bin/env bash
# Developer helper: extract every msgid, fill Simplified Chinese from scripts/translations/*.json,
# then list what is still untranslated or fuzzy (fuzzy entries carry a guessed, usually wrong text).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
$PY manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=bench --no-obsolete >/dev/null
for po in $(find . -path ./.venv -prune -o -name django.po -print); do
  for json in scripts/translations/*.json; do
    [ -e "$json" ] && $PY scripts/po_fill.py "$po" "$json"
  done
  missing=$($PY scripts/po_fill.py "$po" --missing)
  fuzzy=$(( $(grep -c '^#, fuzzy' "$po" || true) - 1 ))  # the header is always marked fuzzy
  [ "$missing" = "[]" ] && [ "$fuzzy" -le 0 ] || echo "$po: untranslated $missing; fuzzy entries: $fuzzy"
done
