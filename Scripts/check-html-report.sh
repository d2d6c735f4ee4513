#!/usr/bin/env bash
# check-html-report.sh REPORT.html [KIND ...]
#
# Opens a MedGrid HTML benchmark report (HTMLReport.render()) in headless Chromium and checks that
#   1. the page's inline check script ran to the end (body data-check-done="1"),
#   2. no script error, failed resource load or console.error happened (body data-errors="0", and no
#      "Uncaught"/"Error" console line in Chromium's log),
#   3. every plot the page declares (body data-plots-expected) is in the rendered DOM with a non-zero size
#      (the inline script measures each svg.medgrid-plot with getBoundingClientRect and marks it data-size-ok),
#   4. each expected plot kind (arguments, e.g. score-distribution rank-blobs significance-map slice-overlay
#      mean-ci-bars; default: every kind that occurs in the file) has at least one such SVG,
#   5. every embedded PNG decodes in the browser with its declared size (data-images-ok = data-images-found),
#   6. if python3 is available: every data:image/png URI in the file has valid chunk CRCs (zlib.crc32), an
#      IDAT stream that zlib.decompress accepts (Adler-32 checked) with the size IHDR implies, and, when PIL
#      is installed, loads with PIL.
# Exit status: 0 = all checks passed, 1 = a check failed, 2 = usage error or no browser.
#
# Prerequisite (this script installs nothing): a Chromium build, e.g. on Debian/Ubuntu
#     apt-get install -y chromium            # optional for check 6: apt-get install -y python3 python3-pil
# The browser is taken from $CHROMIUM, else the first of chromium, chromium-browser, google-chrome,
# google-chrome-stable found on PATH.
set -u

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
fi
report=$1
shift
if [ ! -f "$report" ]; then
    echo "FAIL: report file '$report' does not exist" >&2
    exit 2
fi
report_abs=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")

browser=${CHROMIUM:-}
if [ -z "$browser" ]; then
    for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$candidate" >/dev/null 2>&1; then browser=$(command -v "$candidate"); break; fi
    done
fi
if [ -n "$browser" ] && [ ! -x "$browser" ] && ! command -v "$browser" >/dev/null 2>&1; then
    echo "FAIL: \$CHROMIUM='$browser' is not an executable" >&2
    exit 2
fi
if [ -z "$browser" ]; then
    echo "FAIL: no Chromium found (looked for \$CHROMIUM, chromium, chromium-browser, google-chrome, google-chrome-stable)." >&2
    echo "      Install it first, e.g. 'apt-get install -y chromium'." >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/medgrid-html-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "browser: $browser ($("$browser" --version 2>/dev/null | head -n 1))"
echo "report:  $report_abs ($(wc -c < "$report_abs") bytes)"

# The condition waited for is the page's own "check done" mark (body data-check-done="1"), with a real
# deadline: on a loaded machine one Chromium run can dump the DOM before the page's script has finished, so
# the page is loaded again (with a longer virtual-time budget each time) until the mark is there or
# MEDGRID_HTML_CHECK_DEADLINE seconds (default 300) have passed.
deadline=$(( $(date +%s) + ${MEDGRID_HTML_CHECK_DEADLINE:-300} ))
budget=10000
attempt=0
while :; do
    attempt=$((attempt + 1))
    rm -rf "$work/profile"
    left=$(( deadline - $(date +%s) ))
    [ $left -lt 30 ] && left=30
    timeout "$left" "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --no-first-run --no-default-browser-check --disable-extensions --user-data-dir="$work/profile" \
        --enable-logging=stderr --v=0 --virtual-time-budget=$budget --window-size=1200,900 \
        --dump-dom "file://$report_abs" > "$work/dom.html" 2> "$work/browser.log"
    status=$?
    if grep -q '<body[^>]*data-check-done="1"' "$work/dom.html" 2>/dev/null; then break; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then break; fi
    echo "note: attempt $attempt: the page's check had not finished (Chromium status $status); loading it again"
    budget=$((budget * 2))
done
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if [ $status -ne 0 ]; then
    fail "Chromium exited with status $status (124 = timed out); last log lines:"
    tail -n 20 "$work/browser.log" | sed 's/^/      /'
fi
if [ ! -s "$work/dom.html" ]; then
    fail "Chromium produced no DOM"
    echo "$failures check(s) failed"
    exit 1
fi

body=$(grep -o '<body[^>]*>' "$work/dom.html" | head -n 1)
attr() { printf '%s' "$body" | sed -n "s/.* $1=\"\([^\"]*\)\".*/\1/p"; }

# 1. the inline check script finished
if [ "$(attr data-check-done)" != "1" ]; then
    fail "the page's inline check script did not finish (no data-check-done=\"1\" on <body>): JavaScript error or timeout"
fi

# 2. no errors
errors=$(attr data-errors)
if [ -n "$errors" ] && [ "$errors" != "0" ]; then
    fail "$errors error(s) recorded by the page: $(attr data-error-messages)"
fi
console_errors=$(grep -E ':CONSOLE' "$work/browser.log" | grep -E 'Uncaught|Error' || true)
if [ -n "$console_errors" ]; then
    fail "console errors in Chromium's log:"
    printf '%s\n' "$console_errors" | sed 's/^/      /'
fi
console_other=$(grep -E ':CONSOLE' "$work/browser.log" | grep -vE 'Uncaught|Error' || true)
if [ -n "$console_other" ]; then
    echo "note: other console messages:"
    printf '%s\n' "$console_other" | sed 's/^/      /'
fi

# 3. all declared plots rendered with a non-zero size
expected=$(attr data-plots-expected)
found=$(attr data-plots-found)
ok=$(attr data-plots-ok)
if [ -z "$expected" ] || [ "$expected" = "0" ]; then
    fail "the page declares no plots (data-plots-expected='${expected}')"
elif [ "$found" != "$expected" ] || [ "$ok" != "$expected" ]; then
    fail "plots: expected $expected, found ${found:-?} in the DOM, ${ok:-?} with a non-zero size"
fi

# 4. every expected kind is present and sized
if [ $# -gt 0 ]; then
    kinds="$*"
else
    kinds=$(grep -o 'class="medgrid-plot medgrid-plot-[a-z0-9-]*"' "$report_abs" | sed 's/.*medgrid-plot-//; s/"$//' | sort -u | tr '\n' ' ')
fi
grep -o '<svg[^>]*>' "$work/dom.html" > "$work/svgs.txt" || true
for kind in $kinds; do
    total=$(grep -c "class=\"medgrid-plot medgrid-plot-$kind\"" "$work/svgs.txt" || true)
    sized=$(grep "class=\"medgrid-plot medgrid-plot-$kind\"" "$work/svgs.txt" | grep -c 'data-size-ok="1"' || true)
    if [ "$total" -eq 0 ]; then
        fail "no '$kind' plot (svg.medgrid-plot-$kind) in the rendered DOM"
    elif [ "$sized" -ne "$total" ]; then
        fail "$((total - sized)) of $total '$kind' plot(s) have zero size"
    else
        echo "ok: $kind: $total plot(s) rendered with non-zero size"
    fi
done

# 5. embedded images decoded by the browser
images_found=$(attr data-images-found)
images_ok=$(attr data-images-ok)
if [ "${images_found:-0}" != "${images_ok:-0}" ]; then
    fail "embedded images: ${images_ok:-?} of ${images_found:-?} decoded with the declared size"
elif [ -n "$images_found" ]; then
    echo "ok: $images_found embedded PNG image(s) decoded by the browser with the declared size"
fi

# 6. PNG structure with Python's zlib (and PIL when available)
python=""
for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1; then
        [ -z "$python" ] && python=$(command -v "$candidate")
        if "$candidate" -c "import PIL" >/dev/null 2>&1; then python=$(command -v "$candidate"); break; fi
    fi
done
if [ -n "$python" ]; then
    if "$python" - "$report_abs" <<'PY'
import base64, io, re, struct, sys, zlib
text = open(sys.argv[1], encoding="utf-8").read()
uris = re.findall(r'data:image/png;base64,([A-Za-z0-9+/=]+)', text)
try:
    from PIL import Image
except ImportError:
    Image = None
bad = 0
for k, b64 in enumerate(uris):
    try:
        b = base64.b64decode(b64, validate=True)
        assert b[:8] == b"\x89PNG\r\n\x1a\n", "bad signature"
        i, idat, types = 8, b"", []
        while i < len(b):
            assert i + 12 <= len(b), "truncated PNG (chunk header at byte %d of %d)" % (i, len(b))
            n, = struct.unpack(">I", b[i:i + 4]); t = b[i + 4:i + 8]; d = b[i + 8:i + 8 + n]
            assert i + 12 + n <= len(b), "truncated PNG (chunk %r needs %d bytes)" % (t, n)
            crc, = struct.unpack(">I", b[i + 8 + n:i + 12 + n])
            assert crc == zlib.crc32(t + d), "CRC mismatch in %r" % t
            types.append(t)
            if t == b"IHDR":
                w, h, depth, ctype = struct.unpack(">IIBB", d[:10])
            if t == b"IDAT":
                idat += d
            i += 12 + n
        assert types[0] == b"IHDR" and types[-1] == b"IEND", "chunk order %r" % types
        channels = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
        raw = zlib.decompress(idat)
        assert len(raw) == h * (1 + w * channels * depth // 8), "IDAT holds %d bytes, expected %d" % (len(raw), h * (1 + w * channels))
        how = "zlib"
        if Image is not None:
            im = Image.open(io.BytesIO(b)); im.load()
            assert im.size == (w, h), "PIL size %r" % (im.size,)
            how += "+PIL"
        print("ok: PNG %d: %dx%d, colour type %d, %d bytes, CRCs and Adler-32 valid (%s)" % (k + 1, w, h, ctype, len(b), how))
    except Exception as e:
        bad += 1
        print("FAIL: PNG %d: %s" % (k + 1, e))
sys.exit(1 if bad else 0)
PY
    then :; else failures=$((failures + 1)); fi
else
    echo "note: python3 not found, PNG structure check skipped"
fi

if [ $failures -ne 0 ]; then
    echo "$failures check(s) failed for $report"
    exit 1
fi
echo "PASS: $report: $expected plot(s) rendered, no console errors"
exit 0
