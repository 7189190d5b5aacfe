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
#   html_extra/book/@jupyter-widgets/{,html-manager/dist/}*.woff2 <- the Font Awesome 5
#                    Free web fonts (SIL OFL 1.1) that the bundle's CSS asks for, under the
#                    hashed names webpack gave them, and fontawesome-free.LICENSE.txt beside them
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
# html-manager script needed. The only other assets it references are Font Awesome fonts
# (widget icons), copied below. Files are copied byte for byte, so their checksums can be
# compared with the npm tarballs.
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

# The widget CSS in embed-amd.js names Font Awesome 5 Free web fonts by webpack's hashed
# names, relative to the URL of the AMD module that injects it, which require.js resolves
# against the page's folder: a chapter at book/<name>.html asks for
# book/@jupyter-widgets/html-manager/dist/<hash>.woff2 (the libembed-amd module's copy of the
# CSS) and book/@jupyter-widgets/<hash>.woff2 (the @jupyter-widgets/html-manager module's
# copy). html_extra_path (_config.yml) copies html_extra/ to the site root, so the fonts are
# published at exactly those paths (git stores each font once). Only the woff2 files: the CSS
# lists them before woff/ttf/svg (and after eot, which only IE reads), and every browser that
# reads woff2 stops there. They are the fontawesome-free webfonts byte for byte; the check
# below keeps the licence honest.
fa="node_modules/@fortawesome/fontawesome-free"
fa_version="$(node -p "require('./$fa/package.json').version")"
rm -rf "$here/html_extra"
for fonts in "$here/html_extra/book/@jupyter-widgets" "$here/html_extra/book/@jupyter-widgets/html-manager/dist"; do
  mkdir -p "$fonts"
  for font in "$hm"/dist/*.woff2; do
    match=""
    for candidate in "$fa"/webfonts/*.woff2; do
      if cmp -s "$font" "$candidate"; then match="$(basename "$candidate")"; fi
    done
    if [ -z "$match" ]; then
      echo "$(basename "$font") is not one of $fa's webfonts" >&2
      exit 1
    fi
    cp "$font" "$fonts/"
    echo "$(basename "$font") = fontawesome-free $fa_version webfonts/$match"
  done
  {
    echo "The *.woff2 files in this folder: Font Awesome 5 Free web fonts"
    echo "(@fortawesome/fontawesome-free $fa_version on npm, webfonts/fa-*.woff2),"
    echo "as bundled by @jupyter-widgets/html-manager ${HTML_MANAGER_VERSION} under hashed names."
    echo "Copyright (c) Font Awesome (Fonticons, Inc.). The fonts are licensed under the"
    echo "SIL Open Font License, Version 1.1 (full text below); Font Awesome's LICENSE.txt first."
    echo
    cat "$fa/LICENSE.txt"
    echo
    cat "$here/OFL-1.1.txt"
  } > "$fonts/fontawesome-free.LICENSE.txt"
done

sha256sum "$here/require.js" "$here/embed-amd.js" "$here"/html_extra/book/@jupyter-widgets/html-manager/dist/*.woff2 \
  | sed "s@$here/@@"
