"""A freedesktop notification service for desktop tests, started by the session bus itself.

`session_config(workdir, record)` writes a D-Bus session config whose service directory
holds `org.freedesktop.Notifications.service`; run the app with
`dbus-run-session --config-file=<it>` and the bus starts this file as the notification
server the first time the app sends a notification (D-Bus activation, as on a desktop).
Each `Notify` call is appended to `record` as a JSON line `{"app", "summary", "body"}`.
The server ends with the session bus.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SESSION_CONF = "/usr/share/dbus-1/session.conf"

INTERFACE = """
<node>
  <interface name="org.freedesktop.Notifications">
    <method name="Notify">
      <arg type="s" direction="in"/><arg type="u" direction="in"/>
      <arg type="s" direction="in"/><arg type="s" direction="in"/>
      <arg type="s" direction="in"/><arg type="as" direction="in"/>
      <arg type="a{sv}" direction="in"/><arg type="i" direction="in"/>
      <arg type="u" direction="out"/>
    </method>
    <method name="CloseNotification"><arg type="u" direction="in"/></method>
    <method name="GetCapabilities"><arg type="as" direction="out"/></method>
    <method name="GetServerInformation">
      <arg type="s" direction="out"/><arg type="s" direction="out"/>
      <arg type="s" direction="out"/><arg type="s" direction="out"/>
    </method>
  </interface>
</node>
"""


def session_config(workdir: Path, record: Path) -> Path:
    """A session bus config that activates this module as the notification service."""
    services = workdir / "dbus-services"
    services.mkdir(parents=True, exist_ok=True)
    (services / "org.freedesktop.Notifications.service").write_text(
        "[D-BUS Service]\n"
        "Name=org.freedesktop.Notifications\n"
        f"Exec={sys.executable} {Path(__file__).resolve()} {record}\n"
    )
    config = workdir / "dbus-session.conf"
    config.write_text(
        '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
        ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
        "<busconfig>\n"
        f"  <include>{SESSION_CONF}</include>\n"
        f"  <servicedir>{services}</servicedir>\n"
        "</busconfig>\n"
    )
    return config


def serve(record: Path) -> None:  # pragma: no cover - runs in the activated process
    from gi.repository import Gio, GLib

    node = Gio.DBusNodeInfo.new_for_xml(INTERFACE)
    counter = [0]

    def on_call(
        _conn: object,
        _sender: str,
        _path: str,
        _iface: str,
        method: str,
        params: GLib.Variant,
        invocation: Gio.DBusMethodInvocation,
    ) -> None:
        if method == "Notify":
            app, _replaces, _icon, summary, body, *_rest = params.unpack()
            with record.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"app": app, "summary": summary, "body": body}) + "\n")
            counter[0] += 1
            invocation.return_value(GLib.Variant("(u)", (counter[0],)))
        elif method == "GetCapabilities":
            invocation.return_value(GLib.Variant("(as)", (["body"],)))
        elif method == "GetServerInformation":
            invocation.return_value(GLib.Variant("(ssss)", ("test", "sweatpants", "1", "1.2")))
        else:
            invocation.return_value(None)

    def on_bus(conn: Gio.DBusConnection, _name: str) -> None:
        conn.register_object(
            "/org/freedesktop/Notifications", node.interfaces[0], on_call, None, None
        )

    loop = GLib.MainLoop()
    Gio.bus_own_name(
        Gio.BusType.SESSION,
        "org.freedesktop.Notifications",
        Gio.BusNameOwnerFlags.NONE,
        on_bus,
        None,
        lambda *_: loop.quit(),
    )
    loop.run()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
