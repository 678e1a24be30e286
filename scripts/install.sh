#!/usr/bin/env bash
# Set up the project on a fresh Debian machine with Python 3.11 and pip.
#   bash scripts/install.sh        -> .venv with the package (the main job)
#   bash scripts/install.sh test   -> also the test extras, and for the real-browser and
#                                     board-paper tests Debian's chromium and poppler-utils
#                                     (pdftotext, pdfinfo) and the axe-core npm package when
#                                     this machine can install them (else those tests skip).
# `sqa paper --format pdf` prints with chromium too; --format docx needs only the package
# (pandoc comes with pypandoc-binary).
set -euo pipefail
cd "$(dirname "$0")/.."
extra=""
[ "${1:-}" = "test" ] && extra="[test]"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# requirements.lock pins every package to the versions the tests last passed with (constraints:
# only what the package and its extras need is installed).
.venv/bin/python -m pip install --quiet -c requirements.lock -e ".${extra}"
if [ "${1:-}" = "test" ]; then
  debs=""
  command -v chromium >/dev/null 2>&1 || debs=" chromium"
  command -v pdftotext >/dev/null 2>&1 && command -v pdfinfo >/dev/null 2>&1 \
    || debs="$debs poppler-utils"
  if [ -n "$debs" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    # shellcheck disable=SC2086  # $debs is a list of package names
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $debs \
       >/dev/null) || echo "install.sh: could not install$debs; browser and PDF tests will skip"
  fi
  if [ ! -f node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null 2>&1; then
    npm install --silent --no-audit --no-fund --no-save axe-core@4 >/dev/null 2>&1 \
      || echo "install.sh: could not install axe-core; accessibility tests will skip"
  fi
fi
echo "install.sh: ready (.venv)"
