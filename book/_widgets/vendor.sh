#!/usr/bin/env bash
# Refresh the vendored widget JavaScript that the HTML book loads instead of CDNs.
#
# Fetches pinned npm packages into a temporary directory and copies exactly the
# files myst-nb needs (see `nb_ipywidgets_js` in _config.yml) next to this script:
#   require.js    <- requirejs (MIT), the AMD loader embed-amd.js is written for
#   embed-amd.js  <- @jupyter-widgets/html-manager (BSD-3-Clause), the widget manager
#                    with @jupyter-widgets/base, controls and output bundled inside
#   embed-amd.js.LICENSE.txt <- its licence: the Jupyter BSD-3-Clause text plus the
#                    third-party notices webpack extracted from the bundle
#
# Usage: bash book/_widgets/vendor.sh        (needs node + npm; the book build does not)
# After a version bump, update the versions and checksums in README.md,
# rebuild the book and run check_offline.py on a page with widgets.
set -euo pipefail

HTML_MANAGER_VERSION="1.0.15"   # 1.x renders ipywidgets 8 (and 7) widget state
REQUIREJS_VERSION="2.3.8"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
npm init -y >/dev/null
# --ignore-scripts: nothing needs building; we only copy prebuilt dist files.
npm install --no-audit --no-fund --ignore-scripts --no-save \
  "@jupyter-widgets/html-manager@${HTML_MANAGER_VERSION}" \
  "requirejs@${REQUIREJS_VERSION}" >/dev/null

hm="node_modules/@jupyter-widgets/html-manager"
rjs="node_modules/requirejs"

# Check we got what we pinned.
node -e "const v=require('./$hm/package.json').version; if (v!=='$HTML_MANAGER_VERSION') {console.error('html-manager', v); process.exit(1)}"
node -e "const v=require('./$rjs/package.json').version; if (v!=='$REQUIREJS_VERSION') {console.error('requirejs', v); process.exit(1)}"

# embed-amd.js is a single concatenated AMD file (base, controls, base7, controls7,
# html-manager, libembed-amd): it loads no webpack chunks at runtime, so it is the only
# html-manager file needed. The only other assets it references are FontAwesome fonts
# (widget icons), fetched lazily relative to the AMD module URL; they are not vendored
# (see README.md). Files are copied byte for byte, so their checksums can be compared
# with the npm tarballs.
cp "$hm/dist/embed-amd.js" "$here/embed-amd.js"
cp "$rjs/require.js" "$here/require.js"   # carries its MIT notice in its header

# html-manager's npm package ships no LICENSE file and only embed.js's extracted
# third-party notices (the same libraries are bundled in embed-amd.js). The Jupyter
# BSD-3-Clause text comes from the controls7 package of the same install.
{
  echo "embed-amd.js: @jupyter-widgets/html-manager ${HTML_MANAGER_VERSION} (npm), BSD-3-Clause."
  echo
  cat "node_modules/@jupyter-widgets/controls7/LICENSE"
  echo
  echo "Third-party notices for code bundled in html-manager's dist files"
  echo "(from @jupyter-widgets/html-manager/dist/embed.js.LICENSE.txt):"
  echo
  cat "$hm/dist/embed.js.LICENSE.txt"
} > "$here/embed-amd.js.LICENSE.txt"

sha256sum "$here/require.js" "$here/embed-amd.js" | sed "s@$here/@@"
