#!/bin/sh
# Print deploy/haproxy.cfg (or the file given) with one `server` line per backend in
# CNNVIZ_BACKENDS ("host:port host:port ..."): server and cookie are app1, app2, ... in that order.
# POSIX sh only: it runs on the teacher's machine (`make class`) and in the haproxy image (compose).
set -eu
template=${1:-$(dirname "$0")/haproxy.cfg}
: "${CNNVIZ_BACKENDS:?set CNNVIZ_BACKENDS to the app addresses, e.g. \"app1:8501 app2:8501\"}"
while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    '#@servers' | *' #@servers')  # the marker alone on its line (indented or not)
      i=0
      for addr in $CNNVIZ_BACKENDS; do
        i=$((i + 1))
        printf '    server app%d %s cookie app%d\n' "$i" "$addr" "$i"
      done
      ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$template"
