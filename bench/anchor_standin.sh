#!/usr/bin/env bash
# anchor_standin.sh DIR: make DIR/bin/replay-copy and DIR/bin/replay-intercept wrappers
# that run an anchor tcpcopy/intercept (paths in $TCPCOPY and $INTERCEPT, built by hand
# outside this repository, default ./configure && make; no anchor code lives here) with
# our flags translated, so the same harness measures both:
#   TCPCOPY=.../objs/tcpcopy INTERCEPT=.../objs/intercept bench/anchor_standin.sh /tmp/anchor
#   RF_BIN=/tmp/anchor/bin bench/run_bench.sh
# Translation: -c CIDR -> tcpcopy's a.b.c.x; -i, --stats-json, --nice, --pcap-buffer-mb
# dropped (tcpcopy's raw socket captures on every interface and has no JSON counters);
# --insecure dropped (no authentication). Everything else passes through unchanged.
# tcpcopy writes logs under /usr/local/{tcpcopy,intercept}/logs: created here.
set -eu
d=$1; mkdir -p "$d/bin" /usr/local/tcpcopy/logs /usr/local/intercept/logs
: "${TCPCOPY:?path to an anchor tcpcopy binary}" "${INTERCEPT:?path to an anchor intercept binary}"
cat > "$d/bin/replay-copy" <<EOW
#!/usr/bin/env bash
a=(); while [ \$# -gt 0 ]; do case "\$1" in
  -c) c=\$(echo "\$2" | sed -E 's#^([0-9]+\.[0-9]+\.[0-9]+)\.0/24\$#\1.x#; s#^([0-9]+\.[0-9]+)\.0\.0/16\$#\1.0.x#')
      a+=(-c "\$c"); shift 2;;                                   # CIDR -> tcpcopy's a.b.c.x (a /16 narrows to one /24)
  -i|--stats-json|--nice|--pcap-buffer-mb) shift 2;;            # raw-socket build captures everywhere; no JSON counters
  --insecure) shift;;                                            # tcpcopy has no authentication
  *) a+=("\$1"); shift;; esac; done
exec "$TCPCOPY" "\${a[@]}"
EOW
cat > "$d/bin/replay-intercept" <<EOW
#!/usr/bin/env bash
a=(); while [ \$# -gt 0 ]; do case "\$1" in
  --stats-json) shift 2;;
  --insecure) shift;;
  *) a+=("\$1"); shift;; esac; done
exec "$INTERCEPT" "\${a[@]}"
EOW
chmod +x "$d/bin/replay-copy" "$d/bin/replay-intercept"
echo "stand-in ready in $d/bin"
