"""The Model Context Protocol server (`sweatpants mcp`): lets an AI agent use Sweatpants as a
tool. It is a client of the daemon's REST API, like the CLI, and serves MCP over stdio with
the official `mcp` SDK. `tools.py` is what an agent can do, `fields.py` turns module fields
into JSON Schema, `server.py` wires them to the SDK."""
