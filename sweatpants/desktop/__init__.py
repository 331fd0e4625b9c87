"""The desktop app: tray icon, dashboard window and the daemon in one process.

Entry point: `sweatpants.desktop.launcher.main` (`sweatpants app`, `sweatpants-app`,
`python -m sweatpants.desktop`). Only the launcher's imports are light: the GUI libraries
(pystray, pywebview) are imported once the launcher knows a display is there.
"""
