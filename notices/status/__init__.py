"""The public status page: every system's state per function, now and over 90 days, and its feeds.

- `models`: `ComponentState` and the `StatusDay` rows that cache a day's state for the history bars.
- `derived`: the state derived from notices and incidents (the grid, the days, the history bars).
- `signals`: keep the days and the page's cache fresh when notices, incidents or systems change.
- `cache`: the page's two-tier cache; `views`: the page, the calendar and the iCal feed;
  `feeds`: RSS and Atom; `api`: `/api/status/`; `filters`: the scope they all share.
- `tasks`: the nightly roll of the history bars into a new day.
"""
