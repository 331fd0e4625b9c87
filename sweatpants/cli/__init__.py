"""The `sweatpants` command: drives the daemon over its REST and WebSocket API.

Only `serve` and `app` start something in this process; `config` reads the settings; every
other command is a client of the running daemon and never touches the database.
"""
