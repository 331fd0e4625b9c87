#!/bin/sh
# Remove what install.sh put in the XDG places (entry, icons, autostart). Leaves the
# daemon's data directory alone: delete it yourself if you want the jobs and modules gone.
set -eu

DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
CONFIG_HOME=${XDG_CONFIG_HOME:-$HOME/.config}

removed=0
for file in "$DATA_HOME/applications/sweatpants.desktop" \
            "$CONFIG_HOME/autostart/sweatpants.desktop" \
            "$DATA_HOME"/icons/hicolor/*/apps/sweatpants.png \
            "$DATA_HOME/icons/hicolor/scalable/apps/sweatpants.svg"; do
    if [ -f "$file" ]; then
        rm -f "$file"
        removed=$((removed + 1))
    fi
done
echo "removed $removed files"

if command -v update-desktop-database >/dev/null 2>&1 && [ -d "$DATA_HOME/applications" ]; then
    update-desktop-database -q "$DATA_HOME/applications" || true
fi
