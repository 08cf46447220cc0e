#!/bin/sh
# Enforce .editorconfig on the C sources and headers: no tabs, no trailing
# white space, a final newline, LF line ends. `--fix` repairs what it can.
fix=0
if [ "${1:-}" = "--fix" ]; then
    fix=1
    shift
fi
bad=0
for f in "$@"; do
    [ -f "$f" ] || continue
    if [ "$fix" -eq 1 ]; then
        sed -i -e 's/[ \t]*$//' -e 's/\r$//' "$f"
        [ -n "$(tail -c 1 "$f")" ] && echo >> "$f"
        continue
    fi
    if grep -n "$(printf '\t')" "$f" >/dev/null; then
        echo "$f: tab character (indent with 4 spaces)"; bad=1
    fi
    if grep -n '[[:space:]]$' "$f" >/dev/null; then
        echo "$f:$(grep -n '[[:space:]]$' "$f" | head -n 1 | cut -d: -f1): trailing white space"; bad=1
    fi
    if [ -n "$(tail -c 1 "$f")" ]; then
        echo "$f: no newline at end of file"; bad=1
    fi
done
exit $bad
