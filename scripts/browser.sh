# Sourced by scripts/test: what the browser journeys (tests/tests/all/browser.rs)
# need, installed when missing: Debian's chromium and chromium-driver (apt-get;
# CI runs as root) and the npm package axe-core (pinned, outside the
# repository). Exports where they are. Expects CACHE and say() to be set.
AXE_VERSION=4.14.1
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  say "installing chromium and chromium-driver (apt-get)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if [ ! -f "$CACHE/npm/node_modules/axe-core/package.json" ] ||
   ! grep -q "\"version\": \"$AXE_VERSION\"" "$CACHE/npm/node_modules/axe-core/package.json"; then
  say "installing axe-core@$AXE_VERSION (npm) into $CACHE/npm"
  npm install --prefix "$CACHE/npm" --no-audit --no-fund --loglevel=error "axe-core@$AXE_VERSION"
fi
PORTICO_CHROMIUM=$(command -v chromium)
PORTICO_CHROMEDRIVER=$(command -v chromedriver)
PORTICO_AXE_JS="$CACHE/npm/node_modules/axe-core/axe.min.js"
export PORTICO_CHROMIUM PORTICO_CHROMEDRIVER PORTICO_AXE_JS
echo "browser: $("$PORTICO_CHROMIUM" --version 2>/dev/null | head -n 1), $("$PORTICO_CHROMEDRIVER" --version | head -n 1 | cut -d' ' -f1-2), axe-core $AXE_VERSION"
