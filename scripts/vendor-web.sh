#!/bin/sh
# vendor-web.sh copies the timeline page's player (Shaka Player, pinned in
# scripts/player/package.json) from npm's node_modules into origin/web/vendor/,
# where go:embed puts it into the binary. Run it after `npm ci` in
# scripts/player (or with PLAYER_DIR set to a directory holding node_modules)
# whenever the pinned version changes, and commit the copy.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
player=${PLAYER_DIR:-$root/scripts/player}
src=$player/node_modules/shaka-player
want=$(sed -n 's/.*"shaka-player": *"\([^"]*\)".*/\1/p' "$root/scripts/player/package.json")
got=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$src/package.json" | head -n 1)
if [ "$want" != "$got" ]; then
	echo "vendor-web.sh: $src is shaka-player $got, scripts/player/package.json pins $want (run npm ci in scripts/player)" >&2
	exit 1
fi
dst=$root/origin/web/vendor
mkdir -p "$dst"
cp "$src/dist/shaka-player.compiled.js" "$dst/shaka-player.compiled.js"
cp "$src/LICENSE" "$dst/shaka-player.LICENSE"
echo "shaka-player $got" > "$dst/VERSION"
echo "vendored shaka-player $got into $dst"
