"""Schedules: run a module on a cron expression or every so often, in a time zone.

`timing.py` turns a schedule's `cron`/`every` into fire times (cronsim + zoneinfo);
`model.py` is the typed `Schedule` and what a request may set; `service.py` creates, changes
and fires schedules over the store and the job manager; `loop.py` is the loop that fires
them on time, notices suspends and clock jumps, and applies the misfire and overlap policies.
"""
