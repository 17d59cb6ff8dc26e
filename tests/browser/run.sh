#!/usr/bin/env bash
# Renders report.html of every preset in headless Chromium (Debian's package) and checks that
# each page loads with no console error and no network request (Chromium's NetLog), and that
# its screenshot is not blank. `--update-docs` also copies the screenshots to docs/screenshots/.
# Run from the repository root: bash tests/browser/run.sh [--update-docs]
set -euo pipefail

if [[ ! -f Cargo.toml || ! -f tests/browser/check_page.py ]]; then
  echo "error: run tests/browser/run.sh from the repository root" >&2
  exit 2
fi
update_docs=false
[[ "${1:-}" == "--update-docs" ]] && update_docs=true

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
PYTHON="${PYTHON:-python3}"
export PYTHONDONTWRITEBYTECODE=1
if ! "$PYTHON" -c "import PIL" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install --quiet --disable-pip-version-check pillow
fi

cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
checked=0
# check_page NAME REPORT: renders REPORT and checks it (see check_page.py).
check_page() {
  local name=$1 page=$2
  # A fresh profile per page. No name resolves and every connection goes to a closed port on
  # this machine, so neither the page nor the browser's own background services (update
  # checks) reach beyond it; a request the page makes still shows in the NetLog, and the
  # content security policy refuses it with a console message.
  timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --host-resolver-rules="MAP * ~NOTFOUND" --proxy-server="127.0.0.1:9" \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile-$name" --no-first-run --disable-extensions \
    --enable-logging=stderr --v=0 --log-net-log="$work/$name.netlog.json" \
    --window-size=1000,1600 --screenshot="$work/$name.png" "file://$page" \
    >"$work/$name.log" 2>&1 || true
  checked=$((checked + 1))
  if "$PYTHON" tests/browser/check_page.py "$name" "$work/$name.png" \
    "$work/$name.netlog.json" "$work/$name.log"; then
    if $update_docs; then
      mkdir -p docs/screenshots
      cp "$work/$name.png" "docs/screenshots/$name.png"
    fi
  else
    failed=$((failed + 1))
  fi
}

pathcast=target/release/pathcast
for preset in $("$pathcast" list | awk 'NR > 1 && NF { print $1 }' | grep -v '^Run$'); do
  # A preset with uncertain inputs draws a few samples of them, each solved exactly.
  samples=()
  # (grep reads all of check's output: with -q it would stop at the match, and pipefail would
  # then count check's broken pipe as a failure once the output is long.)
  if "$pathcast" check "$preset" | grep '^Uncertain inputs' >/dev/null; then samples=(--samples 20); fi
  "$pathcast" -q run "$preset" --paths 200000 "${samples[@]}" --out "$work/$preset" >/dev/null
  check_page "$preset" "$work/$preset/report.html"
done
# The analyses' reports: a tornado, sweep lines, paired differences.
"$pathcast" -q sensitivity baseline --out "$work/sensitivity" >/dev/null
check_page baseline-sensitivity "$work/sensitivity/report.html"
"$pathcast" -q sweep baseline --vary events.meeting.p.start=0.005..0.03:6 --out "$work/sweep" >/dev/null
check_page baseline-sweep "$work/sweep/report.html"
"$pathcast" -q compare baseline sanctions --paths 200000 --out "$work/compare" >/dev/null
check_page baseline-compare "$work/compare/report.html"
echo "browser: $((checked - failed)) passed, $failed failed"
[[ $checked -gt 0 && $failed -eq 0 ]]
