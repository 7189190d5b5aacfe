#!/usr/bin/env bash
# Refresh the vendored MathJax that the HTML book loads instead of cdn.jsdelivr.net.
#
# Fetches the pinned `mathjax` npm package (prebuilt ES5 components, Apache-2.0) into a
# temporary directory and copies only what a page needs into ./mathjax/ next to this
# script. _config.yml publishes this folder with html_static_path (as _static/mathjax/)
# and points Sphinx's `mathjax_path` at mathjax/tex-mml-chtml.js:
#   tex-mml-chtml.js            the combined component Sphinx uses by default (loader,
#                               TeX + MathML input, CommonHTML output, menu, assistive MathML)
#   output/chtml/fonts/woff-v2/ the MathJax TeX web fonts, fetched per font variant at
#                               run time, relative to the script's URL
#   input/tex/extensions/       TeX extensions the `autoload` and `require` extensions
#                               fetch at run time (\cancel, \ce, \color, \bbox, \require{..}),
#                               minus the ones already bundled in tex-mml-chtml.js
#   LICENSE                     the package's Apache-2.0 licence, published with the files
#
# Usage: bash book/_mathjax/vendor.sh        (needs node + npm; the book build does not)
# After a version bump, update the version and checksum in README.md, rebuild the book
# and run book/_widgets/check_offline.py --min-views 0 on a page with math.
set -euo pipefail

MATHJAX_VERSION="3.2.2"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/mathjax"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
npm init -y >/dev/null
# --ignore-scripts: nothing needs building; the package ships prebuilt components.
npm install --no-audit --no-fund --ignore-scripts --no-save \
  "mathjax@${MATHJAX_VERSION}" >/dev/null

mj="node_modules/mathjax"
node -e "const v=require('./$mj/package.json').version; if (v!=='$MATHJAX_VERSION') {console.error('mathjax', v); process.exit(1)}"
es5="$mj/es5"

rm -rf "$dest"
mkdir -p "$dest/output/chtml/fonts" "$dest/input/tex"
cp "$es5/tex-mml-chtml.js" "$dest/"
cp "$mj/LICENSE" "$dest/"
cp -r "$es5/output/chtml/fonts/woff-v2" "$dest/output/chtml/fonts/"
cp -r "$es5/input/tex/extensions" "$dest/input/tex/"

# Prune extensions that tex-mml-chtml.js never requests:
#  - the ones its input/tex component already bundles; they are listed in its
#    preLoad("input/tex-base","[tex]/ams",...) call (ams, newcommand, noundefined,
#    require, autoload, configmacros in 3.2.2), which marks them as loaded;
#  - all-packages.js (215 kB): every extension in one file, used only by the tex-full
#    components, never by autoload.
bundled="$(grep -o 'preLoad("input/tex-base"[^)]*)' "$dest/tex-mml-chtml.js" \
  | grep -o '\[tex\]/[A-Za-z0-9]*' | sed 's@\[tex\]/@@' | sort -u)"
if [ -z "$bundled" ]; then
  echo "vendor.sh: could not find the bundled TeX extensions in tex-mml-chtml.js" >&2
  exit 1
fi
for name in $bundled all-packages; do
  rm "$dest/input/tex/extensions/$name.js"
done

# Not vendored (see README.md): the a11y components and speech-rule-engine (sre), the
# SVG output and the MathML mml3 extension. tex-mml-chtml.js only requests them when a
# reader turns on an accessibility explorer or the SVG renderer in MathJax's right-click
# menu (both off by default); the requests then stay local and fail.

echo "bundled in tex-mml-chtml.js, pruned: $(echo $bundled) all-packages"
echo "vendored into $dest: $(du -sh "$dest" | cut -f1), $(find "$dest" -type f | wc -l) files"
(cd "$dest" && sha256sum tex-mml-chtml.js)
