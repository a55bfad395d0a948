#!/usr/bin/env bash
# Developer helper: extract every msgid into the one catalog (locale/zh_Hans), then list what is
# still untranslated or fuzzy. Translate by editing locale/zh_Hans/LC_MESSAGES/django.po itself.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=bench --no-obsolete >/dev/null
.venv/bin/python -m outage_portal.catalog_check locale/zh_Hans/LC_MESSAGES/django.po
