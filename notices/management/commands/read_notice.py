"""Read an announcement's text the way the notice form and POST /api/notices/parse/ do, and print
what was found as JSON (the API's shape). Nothing is saved."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from notices import selectors
from notices.api import NoticeParseSerializer, notice_parse_data


class Command(BaseCommand):
    help = "Read an announcement (a file, or - for standard input) and print region, system, windows, functions."

    def add_arguments(self, parser):
        parser.add_argument("path", help="UTF-8 text file with the announcement, or - to read standard input")
        parser.add_argument("--published", help="Publication date YYYY-MM-DD, for dates written without a year")

    def handle(self, *args, path, published=None, **options):
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from None
        try:
            published_on = date.fromisoformat(published) if published else None
        except ValueError:
            raise CommandError("--published must be a date written YYYY-MM-DD.") from None
        if not text.strip():
            raise CommandError("The announcement's text is empty.")
        proposal, system = selectors.notice_text_proposal(text=text, published=published_on)
        data = NoticeParseSerializer(notice_parse_data(proposal, system)).data
        self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
