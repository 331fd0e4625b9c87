"""Telling other systems: webhooks on job events and modules' signed callbacks, sent from a
durable delivery queue in the store (`delivery.py`), signed as `signing.py` says, managed by
`service.py`. Nothing here runs in a job process: the SDK reaches it over the API."""
