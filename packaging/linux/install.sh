#!/bin/sh
# Install Sweatpants' desktop entry and icons for the current user, in the XDG places:
#   $XDG_DATA_HOME/applications/sweatpants.desktop          (default ~/.local/share/...)
#   $XDG_DATA_HOME/icons/hicolor/<N>x<N>/apps/sweatpants.png
#   $XDG_CONFIG_HOME/autostart/sweatpants.desktop           (only with --autostart)
#
# usage: install.sh [--exec COMMAND] [--assets DIR] [--autostart]
#   --exec     what the menu entry starts; default: `sweatpants-app` beside this script
#              (the standalone build), else `sweatpants-app` on PATH (pip install)
#   --assets   the icons directory; default: found beside this script or in the checkout
#   --autostart  also start Sweatpants at login
# Undo with uninstall.sh (same directory).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
CONFIG_HOME=${XDG_CONFIG_HOME:-$HOME/.config}
EXEC=""
ASSETS=""
AUTOSTART=0

die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --exec) [ $# -ge 2 ] || die "--exec needs a command"; EXEC=$2; shift 2 ;;
        --assets) [ $# -ge 2 ] || die "--assets needs a directory"; ASSETS=$2; shift 2 ;;
        --autostart) AUTOSTART=1; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

# The template: beside this script (checkout: packaging/linux/; standalone build: the app folder).
TEMPLATE=$HERE/sweatpants.desktop
[ -f "$TEMPLATE" ] || die "missing $TEMPLATE"

if [ -z "$EXEC" ]; then
    if [ -x "$HERE/sweatpants-app" ]; then
        EXEC=$HERE/sweatpants-app
    elif command -v sweatpants-app >/dev/null 2>&1; then
        EXEC=$(command -v sweatpants-app)
    else
        die "cannot find sweatpants-app: pip install sweatpants (or build the app), or pass --exec"
    fi
fi

if [ -z "$ASSETS" ]; then
    for candidate in "$HERE/_internal/sweatpants/assets" "$HERE/../../assets"; do
        if [ -f "$candidate/sweatpants-48.png" ]; then ASSETS=$candidate; break; fi
    done
    if [ -z "$ASSETS" ] && command -v sweatpants >/dev/null 2>&1; then
        # A pip install: ask the package where its icons are.
        PY=$(head -n 1 "$(command -v sweatpants)" | sed -n 's/^#! *//p')
        if [ -n "$PY" ]; then
            ASSETS=$("$PY" -c 'from sweatpants.paths import assets_dir; print(assets_dir())' 2>/dev/null || true)
        fi
    fi
fi
[ -n "$ASSETS" ] && [ -d "$ASSETS" ] || die "cannot find the icons; pass --assets DIR"

# Desktop Entry spec: a program path with spaces or other reserved characters is quoted.
case "$EXEC" in
    *[\\\"\`\$]*) die "the program path must not contain \\, \", \` or \$: $EXEC" ;;
    *[!A-Za-z0-9_./+:=@%,-]*) EXEC_LINE="\"$EXEC\"" ;;
    *) EXEC_LINE=$EXEC ;;
esac

APPS=$DATA_HOME/applications
mkdir -p "$APPS"
ENTRY=$APPS/sweatpants.desktop
TMP=$ENTRY.tmp.$$
# Replace the template's Exec line (awk, so no sed escaping of the path is needed).
awk -v line="Exec=$EXEC_LINE" '/^Exec=/ { print line; next } { print }' "$TEMPLATE" > "$TMP"
chmod 0644 "$TMP"
mv "$TMP" "$ENTRY"
echo "installed $ENTRY (Exec=$EXEC_LINE)"

installed_icons=0
for png in "$ASSETS"/sweatpants-*.png; do
    [ -f "$png" ] || continue
    size=$(basename "$png" .png | sed 's/^sweatpants-//')
    case "$size" in *[!0-9]*|"") continue ;; esac
    dir=$DATA_HOME/icons/hicolor/${size}x${size}/apps
    mkdir -p "$dir"
    cp "$png" "$dir/sweatpants.png"
    chmod 0644 "$dir/sweatpants.png"
    installed_icons=$((installed_icons + 1))
done
if [ -f "$ASSETS/sweatpants.svg" ]; then
    mkdir -p "$DATA_HOME/icons/hicolor/scalable/apps"
    cp "$ASSETS/sweatpants.svg" "$DATA_HOME/icons/hicolor/scalable/apps/sweatpants.svg"
    installed_icons=$((installed_icons + 1))
fi
[ "$installed_icons" -gt 0 ] || die "no sweatpants-<size>.png icons in $ASSETS"
echo "installed $installed_icons icons under $DATA_HOME/icons/hicolor"

if [ "$AUTOSTART" -eq 1 ]; then
    mkdir -p "$CONFIG_HOME/autostart"
    cp "$ENTRY" "$CONFIG_HOME/autostart/sweatpants.desktop"
    echo "installed $CONFIG_HOME/autostart/sweatpants.desktop (starts at login)"
fi

# Refresh the caches when the tools exist; menus pick the entry up without them too.
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$APPS" || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$DATA_HOME/icons/hicolor/index.theme" ]; then
    gtk-update-icon-cache -q -t "$DATA_HOME/icons/hicolor" || true
fi
