#!/usr/bin/env bash
# check.sh TEST_RD_METRICS -- promtool (Debian package prometheus) on what
# replayfleet ships: the alert/recording rules load and their unit tests
# pass (alerts_test.yml), and a page rendered by rd_metrics_render (dumped
# by test_rd_metrics) has no `promtool check metrics` finding. No root, no
# network. Exit 77 (SKIP) when promtool is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
bin=${1:?usage: check.sh path/to/test_rd_metrics}
if ! command -v promtool >/dev/null; then
    echo "SKIP: promtool not installed (apt-get install prometheus; scripts/deps.sh does)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
promtool check rules "$src/deploy/prometheus/alerts.yml"
(cd "$here" && promtool test rules alerts_test.yml)
RD_METRICS_DUMP="$tmp/page.txt" "$bin" >"$tmp/unit.log" 2>&1 || { cat "$tmp/unit.log"; exit 1; }
test -s "$tmp/page.txt"
# promtool prints findings (and exits 0 for lint-only ones): any output fails
promtool check metrics <"$tmp/page.txt" >"$tmp/lint.txt" 2>&1 || true
if [ -s "$tmp/lint.txt" ]; then
    echo "promtool check metrics:"; cat "$tmp/lint.txt"; exit 1
fi
echo "promtool check metrics: $(grep -c '^# TYPE' "$tmp/page.txt") families, no findings"
# the dashboard is JSON and every expression names families replayd renders
# (the page's own families, plus every family the agents' counter tables declare)
python3 - "$src/deploy/grafana/replayfleet.json" "$tmp/page.txt" "$src/deploy/prometheus/alerts.yml" "$src" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
page = open(sys.argv[2]).read()
rules = open(sys.argv[3]).read()
fams = set(re.findall(r'^# TYPE (\S+)', page, re.M))
for role, path in (("copy", "agent-copy/cp_stats.c"), ("intercept", "agent-intercept/ic_stats.c")):
    for m in re.finditer(r'\b[CG]\(\w+, "([a-z0-9_]+)"', open(sys.argv[4] + "/" + path).read()):
        fams.add("replayfleet_%s_%s" % (role, m.group(1)))
recorded = set(re.findall(r'record: (\S+)', rules))
bad, n = [], 0
for p in d["panels"]:
    for t in p.get("targets") or []:
        n += 1
        for m in re.findall(r'\b((?:replayfleet|process)_[a-z0-9_]+)', t["expr"]):
            if m not in fams and m not in recorded:
                bad.append("%s: %s" % (p["title"], m))
for m in re.findall(r'\b(replayfleet_[a-z0-9_]+)', rules):
    if m not in fams:
        bad.append("alerts.yml: %s" % m)
if bad:
    print("families the page does not have:\n  " + "\n  ".join(sorted(set(bad))))
    sys.exit(1)
print("dashboard: %d panels, %d queries, all families exist" % (len(d["panels"]), n))
PY
