"""Subscriptions and notifications: who hears about which event, on which channel, exactly once.

- `models`: channels, subscriptions, deliveries and their attempts.
- `services`: fan an `Event` out into `Delivery` rows; claim, send and record one delivery; sweep stuck ones;
  the writes behind pages and API (subscriptions, channels, visitor opt-in, unsubscribe).
- `channels`: the senders (email, WeCom robot, DingTalk robot, signed webhook).
- `reminders`: "window starting soon" events at each subscriber's lead times.
- `tasks`: the Celery side (one task per delivery, the reminder beat, the sweeper).
"""
