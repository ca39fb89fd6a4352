#!/usr/bin/env bash
# Refresh the offline MathJax 3 bundle that the book serves instead of a CDN copy.
#
# Usage (from anywhere):   bash scripts/bundle_mathjax.sh [VERSION]     (default: 3)
#
# What it does: fetches the `mathjax` package from the npm registry with `npm pack`
# (needs node and npm; nothing is installed globally) and copies into _vendor/mathjax/
# only what CHTML typesetting of TeX needs:
#   tex-chtml-full.js                     the combined component: TeX input with every
#                                         extension built in (so nothing is autoloaded
#                                         at run time), CHTML output, menu
#   output/chtml/fonts/woff-v2/*.woff     the fonts, fetched through CSS by CHTML output
#   LICENSE                               Apache-2.0, MathJax's licence
#   VERSION                               the exact version bundled
# _config.yml copies _vendor/ into the site's _static/ (html_static_path) and points
# Sphinx's mathjax_path at mathjax/tex-chtml-full.js. The bundle lives in _vendor/ rather
# than in a top-level _static/ because Jupyter Book 1 injects every .js file found under
# _static/ into every page, which would load MathJax a second time.
set -euo pipefail

version="${1:-3}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo_root/_vendor/mathjax"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
tarball="$(npm pack --silent "mathjax@$version")"
tar -xzf "$tarball"
src="$work/package"
exact="$(node -p "require('$src/package.json').version")"

rm -rf "$dest"
mkdir -p "$dest/output/chtml/fonts/woff-v2"
cp "$src/es5/tex-chtml-full.js" "$dest/"
cp "$src"/es5/output/chtml/fonts/woff-v2/*.woff "$dest/output/chtml/fonts/woff-v2/"
cp "$src/LICENSE" "$dest/LICENSE"
echo "$exact" > "$dest/VERSION"

echo "Bundled MathJax $exact into ${dest#"$repo_root"/} ($(du -sh "$dest" | cut -f1))"
