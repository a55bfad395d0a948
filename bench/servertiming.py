"""Server time and query count of each request, as `Server-Timing` and `X-Queries` headers.

Only the page benchmark's settings (`bench/pages_settings.py`) install it: the load generator reads
the server's own time, so queueing in front of gunicorn's workers and the client's own CPU do not count.
"""

from __future__ import annotations

import time

from django.db import connection


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        queries = 0

        def count(execute, sql, params, many, context):
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            response = self.get_response(request)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        response["X-Queries"] = str(queries)
        return response
