#!/usr/bin/env bash
# bench/http-peers/run.sh - phasegate `probe headers` / `probe cors` side by side with the
# MDN HTTP Observatory on local nginx configurations (issue 9). Not run in CI: it installs
# an npm package (and nginx with apt-get when missing).
#
#   bench/http-peers/run.sh [PHASEGATE_BINARY]
#
# What it does, bounded to loopback:
#   1. writes a throw-away CA and a leaf certificate for 127.0.0.1 (openssl), so both tools
#      see HTTPS (HSTS, Secure cookies and the Observatory's redirection test only mean
#      something there). Plain http on the same port is redirected to https (nginx 497).
#   2. writes one nginx configuration per case (good, bare, one per common mistake) into a
#      temp dir, each with its own prefix, pid file and 127.0.0.1 port, and starts it;
#   3. runs `phasegate probe headers` (and `probe cors` for the CORS cases; a handful of
#      requests each) with SSL_CERT_FILE=the CA, and the Observatory's scanner
#      (node src/scan.js 127.0.0.1:PORT, as /work/shared/peers/http-peers.sh does) with
#      NODE_EXTRA_CA_CERTS=the CA;
#   4. writes a TSV and a markdown table, stops every nginx with `nginx -s quit` and waits,
#      and removes the temp dir.
#
# Environment:
#   PG_PEERS_DIR   Observatory install dir (default /tmp/pg-http-peers, as http-peers.sh)
#   PG_BENCH_OUT   where the tables go (default /tmp/pg-http-peers-bench): table.tsv,
#                  table.md and raw/ (each tool's output per case)
#   PG_BASE_PORT   first port (default 18400); case i listens on PG_BASE_PORT+i
#   PG_KEEP_TMP=1  keep the temp dir (configs, logs) for inspection
#
# Exit: 0 when the table was written (whatever the verdicts), 3 when nginx or a tool is missing.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PG=${1:-${PHASEGATE:-$ROOT/target/debug/phasegate}}
[ -x "$PG" ] || { echo "phasegate binary not found at $PG (cargo build -p phasegate)" >&2; exit 3; }
NGINX=/usr/sbin/nginx
PEERS=${PG_PEERS_DIR:-/tmp/pg-http-peers}
OUT=${PG_BENCH_OUT:-/tmp/pg-http-peers-bench}
BASE_PORT=${PG_BASE_PORT:-18400}
log() { printf '[bench] %s\n' "$*" >&2; }

# ------------------------------------------------------------------ prerequisites
if [ ! -x "$NGINX" ]; then
  log "nginx missing: apt-get install nginx-light"
  { apt-get install -y nginx-light || apt-get install -y nginx; } >/dev/null 2>&1 \
    || { log "apt-get install nginx failed"; exit 3; }
fi
command -v openssl >/dev/null || { log "openssl missing"; exit 3; }

OBS_DIR="$PEERS/obs"
OBS_PKG="$OBS_DIR/node_modules/@mdn/mdn-http-observatory"
OBS_OK=1
OBS_ERR=""
if [ ! -f "$OBS_PKG/src/scan.js" ]; then
  log "npm install @mdn/mdn-http-observatory --ignore-scripts (into $OBS_DIR)"
  mkdir -p "$OBS_DIR"
  # --ignore-scripts: the postinstalls download the HSTS preload list, the TLD list and CA
  # intermediates (research notes §4.4); offline they abort the install.
  if ! (cd "$OBS_DIR" && timeout 300 npm install --no-audit --no-fund --ignore-scripts \
          @mdn/mdn-http-observatory) > "$PEERS/obs-install.log" 2>&1; then
    OBS_OK=0
    OBS_ERR="npm install failed: $(grep -m1 -i 'err' "$PEERS/obs-install.log")"
  fi
fi
if [ "$OBS_OK" = 1 ]; then
  # read on every scan; offline it is missing: an empty map = nothing preloaded
  [ -f "$OBS_PKG/conf/hsts-preload.json" ] || echo '{}' > "$OBS_PKG/conf/hsts-preload.json"
  OBS_VERSION=$(node -p "require('$OBS_PKG/package.json').version" 2>/dev/null || echo '?')
else
  log "Observatory unavailable: $OBS_ERR"
  OBS_VERSION="not installed"
fi

TMP=$(mktemp -d /tmp/pg-http-bench.XXXXXX)
chmod 755 "$TMP"   # nginx workers run as nobody
PIDFILES=()
cleanup() {
  for pf in "${PIDFILES[@]}"; do
    [ -f "$pf" ] || continue
    local pid prefix
    pid=$(cat "$pf" 2>/dev/null)
    prefix=$(dirname "$pf")
    "$NGINX" -p "$prefix" -c "$prefix/nginx.conf" -s quit 2>/dev/null || kill -QUIT "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  if [ "${PG_KEEP_TMP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ certificates
(
  cd "$TMP"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj /CN=phasegate-bench-ca -addext basicConstraints=critical,CA:true \
    -addext keyUsage=critical,keyCertSign
  openssl req -newkey rsa:2048 -nodes -keyout key.pem -out leaf.csr -subj /CN=127.0.0.1
  printf 'basicConstraints=CA:false\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' > ext.cnf
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem \
    -days 2 -extfile ext.cnf
  chmod 644 ca.pem cert.pem key.pem
) >/dev/null 2>&1 || { log "openssl failed"; exit 3; }
CA="$TMP/ca.pem"

# ------------------------------------------------------------------ header blocks
# A fully right set. `always`: error pages carry them too. The page is HTML, so COOP,
# Permissions-Policy and form-action apply.
CSP_GOOD="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
h() { printf '    add_header %s "%s" always;\n' "$1" "$2"; }
good_headers() {  # $1..: header names to leave out
  local skip=" $* "
  [[ $skip == *" hsts "* ]]  || h Strict-Transport-Security "max-age=63072000; includeSubDomains"
  [[ $skip == *" csp "* ]]   || h Content-Security-Policy "$CSP_GOOD"
  [[ $skip == *" xcto "* ]]  || h X-Content-Type-Options nosniff
  [[ $skip == *" xfo "* ]]   || h X-Frame-Options DENY
  [[ $skip == *" rp "* ]]    || h Referrer-Policy no-referrer
  [[ $skip == *" coop "* ]]  || h Cross-Origin-Opener-Policy same-origin
  [[ $skip == *" corp "* ]]  || h Cross-Origin-Resource-Policy same-origin
  [[ $skip == *" pp "* ]]    || h Permissions-Policy "camera=(), microphone=(), geolocation=()"
  [[ $skip == *" cookie "* ]] || h Set-Cookie "__Host-sid=bench1; Path=/; Secure; HttpOnly; SameSite=Lax"
}
# CORS done right: an allow-list of one origin, credentials, Vary, a 204 preflight.
CORS_MAP='
  map $http_origin $cors_origin { default ""; "https://app.example.com" $http_origin; }
  map $cors_origin $cors_cred { "" ""; default "true"; }'
cors_good() {
  h Access-Control-Allow-Origin '$cors_origin'
  h Access-Control-Allow-Credentials '$cors_cred'
  h Access-Control-Allow-Methods "GET, POST"
  h Access-Control-Allow-Headers "content-type"
  h Access-Control-Max-Age 600
  h Vary Origin
}
PAGE='<!doctype html><html><head><title>bench</title></head><body><p>ok</p></body></html>'

# ------------------------------------------------------------------ cases
# name | phasegate headers params | cors params ("-" = no cors run) | server block body
NAMES=(); HPARAMS=(); CPARAMS=(); BODIES=()
CORS_P='allowed=["https://app.example.com"]|credentials=true'
add_case() { NAMES+=("$1"); HPARAMS+=("$2"); CPARAMS+=("$3"); BODIES+=("$4"); }
SID='session_cookies=["__Host-sid"]'

add_case good "$SID" "$CORS_P" "$(good_headers; cors_good)"
add_case bare "" "$CORS_P" "    server_tokens on;"
add_case hsts-max-age-0 "$SID" - "$(good_headers hsts; h Strict-Transport-Security 'max-age=0')"
add_case hsts-directive-twice "$SID" - "$(good_headers hsts; h Strict-Transport-Security 'max-age=31536000; max-age=0')"
add_case hsts-directive-twice-b "$SID" - "$(good_headers hsts; h Strict-Transport-Security 'max-age=0; max-age=31536000')"
add_case csp-unsafe-inline "$SID" - "$(good_headers csp; h Content-Security-Policy "${CSP_GOOD/script-src \'self\'/script-src \'self\' \'unsafe-inline\'}")"
add_case csp-report-only "$SID" - "$(good_headers csp; h Content-Security-Policy-Report-Only "$CSP_GOOD")"
add_case frame-ancestors-star "$SID" - "$(good_headers csp xfo; h Content-Security-Policy "${CSP_GOOD/frame-ancestors \'none\'/frame-ancestors *}")"
add_case xfo-allow-from "$SID" - "$(good_headers csp xfo; h Content-Security-Policy "${CSP_GOOD/; frame-ancestors \'none\'/}"; h X-Frame-Options 'ALLOW-FROM https://app.example.com')"
add_case nosniff-missing "$SID" - "$(good_headers xcto)"
add_case location-drops-headers "$SID|paths=[\"/\", \"/api/\"]" - "$(good_headers)
    location /api/ { add_header Cache-Control no-store always; default_type application/json; return 200 '{\"ok\":true}'; }"
add_case server-tokens-on "$SID" - "$(good_headers)
    server_tokens on;"
add_case x-powered-by "$SID" - "$(good_headers; h X-Powered-By 'PHP/8.1.2')"
add_case cookie-no-flags 'session_cookies=["sessionid"]' - "$(good_headers cookie; h Set-Cookie 'sessionid=bench1; Path=/')"
add_case cors-reflect-credentials "$SID" "$CORS_P" "$(good_headers; h Access-Control-Allow-Origin '$http_origin'; h Access-Control-Allow-Credentials true; h Vary Origin)"
add_case cors-star-credentials "$SID" "$CORS_P" "$(good_headers; h Access-Control-Allow-Origin '*'; h Access-Control-Allow-Credentials true)"
add_case cors-preflight-405 "$SID" "$CORS_P" "$(good_headers; cors_good)
    if (\$request_method = OPTIONS) { return 405; }"

# ------------------------------------------------------------------ start
write_conf() {  # $1 dir, $2 port, $3 body
  mkdir -p "$1/logs" "$1/tmp"
  cat > "$1/nginx.conf" <<EOF
worker_processes 1;
pid $1/nginx.pid;
error_log $1/logs/error.log warn;
user nobody nogroup;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $1/tmp/body; proxy_temp_path $1/tmp/proxy;
  fastcgi_temp_path $1/tmp/fcgi; uwsgi_temp_path $1/tmp/uwsgi; scgi_temp_path $1/tmp/scgi;
  server_tokens off;
  $CORS_MAP
  server {
    listen 127.0.0.1:$2 ssl;
    ssl_certificate $TMP/cert.pem;
    ssl_certificate_key $TMP/key.pem;
    # plain http on the https port: redirect to https (the Observatory tries both)
    error_page 497 =301 https://\$host:\$server_port\$request_uri;
    default_type text/html;
    # unknown methods: 405 (phasegate's error-route check sends DELETE /)
    if (\$request_method !~ ^(GET|HEAD|OPTIONS|POST)\$) { return 405; }
$3
    location = / { return 200 '$PAGE'; }
    location / { return 404; }
  }
}
EOF
  chmod -R a+rX "$1"
}

mkdir -p "$OUT/raw"
rm -f "$OUT"/raw/*
for i in "${!NAMES[@]}"; do
  n=${NAMES[$i]}; port=$((BASE_PORT + i)); d="$TMP/$n"
  write_conf "$d" "$port" "${BODIES[$i]}"
  if ! "$NGINX" -p "$d" -c "$d/nginx.conf" -t >"$OUT/raw/$n.nginx-t" 2>&1 \
     || ! "$NGINX" -p "$d" -c "$d/nginx.conf" 2>>"$OUT/raw/$n.nginx-t"; then
    log "$n: nginx failed to start: $(tail -1 "$OUT/raw/$n.nginx-t")"
    continue
  fi
  PIDFILES+=("$d/nginx.pid")
done
sleep 0.5

# ------------------------------------------------------------------ run
split_params() { # "a=b|c=d" -> -p a=b -p c=d (into array P)
  P=()
  [ -n "$1" ] && [ "$1" != - ] || return 0
  local IFS='|'
  for kv in $1; do P+=(-p "$kv"); done
}
# first line "probe X on URL: VERDICT"; second line: the lead reason; then the codes
pg_summary() {
  local f=$1 verdict lead codes
  verdict=$(head -1 "$f" | sed -E 's/.*: ([a-z]+)$/\1/')
  lead=$(sed -n 2p "$f" | sed -E 's/^ +//; s/^passed with [0-9]+ warnings? below fail_on [a-z]+: /warning /; s/:.*//')
  codes=$(grep -oE '\[[a-z0-9-]+, (critical|high|medium|low)\]' "$f" | tr -d '[]' | sort -u \
          | awk -F', ' '{print $1" ("$2")"}' | paste -sd, - | sed 's/,/, /g')
  printf '%s\t%s\t%s' "$verdict" "$lead" "$codes"
}
obs_summary() {
  node -e '
    const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    if (d.error) { process.stdout.write("error: " + d.error + "\t"); process.exit(0); }
    const s = d.scan;
    const fails = Object.entries(d.tests).filter(([, t]) => !t.pass)
      .map(([k, t]) => `${t.result} (${t.scoreModifier})`);
    const notable = Object.entries(d.tests)
      .filter(([k, t]) => t.pass && /cross-origin-resource-sharing|x-frame-options|content-security-policy|strict-transport-security/.test(k))
      .map(([k, t]) => t.result);
    process.stdout.write(`${s.grade} / ${s.score} (${s.testsPassed}/${s.testsQuantity})\t${fails.join(", ") || "none"}\t${notable.join(", ")}`);
  ' "$1" 2>/dev/null || printf 'unreadable output\t\t'
}

TSV="$OUT/table.tsv"
printf 'case\tport\tpg_headers\tpg_headers_lead\tpg_headers_codes\tpg_cors\tpg_cors_lead\tpg_cors_codes\tobs_grade\tobs_failing\tobs_passing_notable\n' > "$TSV"
for i in "${!NAMES[@]}"; do
  n=${NAMES[$i]}; port=$((BASE_PORT + i)); url="https://127.0.0.1:$port"
  [ -f "$TMP/$n/nginx.pid" ] || { printf '%s\t%s\tnginx did not start\n' "$n" "$port" >> "$TSV"; continue; }
  log "$n ($url)"
  split_params "${HPARAMS[$i]}"
  (cd "$TMP" && SSL_CERT_FILE="$CA" timeout 60 "$PG" probe headers "$url" "${P[@]}" --timeout 5s) \
    > "$OUT/raw/$n.pg-headers.txt" 2>&1
  hs=$(pg_summary "$OUT/raw/$n.pg-headers.txt")
  if [ "${CPARAMS[$i]}" != - ]; then
    split_params "${CPARAMS[$i]}"
    (cd "$TMP" && SSL_CERT_FILE="$CA" timeout 60 "$PG" probe cors "$url" "${P[@]}" --timeout 5s) \
      > "$OUT/raw/$n.pg-cors.txt" 2>&1
    cs=$(pg_summary "$OUT/raw/$n.pg-cors.txt")
  else
    cs=$'-\t\t'
  fi
  if [ "$OBS_OK" = 1 ]; then
    (cd "$OBS_DIR" && NODE_EXTRA_CA_CERTS="$CA" timeout 120 node "$OBS_PKG/src/scan.js" "127.0.0.1:$port") \
      > "$OUT/raw/$n.observatory.json" 2> "$OUT/raw/$n.observatory.stderr"
    os=$(obs_summary "$OUT/raw/$n.observatory.json")
  else
    os=$(printf 'not run\t%s\t' "$OBS_ERR")
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$port" "$hs" "$cs" "$os" >> "$TSV"
done

# ------------------------------------------------------------------ markdown
{
  echo "Run: \`bench/http-peers/run.sh\` on $(date -u +%Y-%m-%d), nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), Observatory $OBS_VERSION (node $(node --version 2>/dev/null)), phasegate $("$PG" --version 2>/dev/null | awk '{print $2}')"
  echo
  echo "| case | phasegate headers | phasegate cors | Observatory |"
  echo "|---|---|---|---|"
  tail -n +2 "$TSV" | awk -F'\t' '{
    h = $3 ($5 != "" ? ": " $4 : "");
    c = ($6 == "-" ? "—" : $6 ($8 != "" ? ": " $7 : ""));
    printf "| %s | %s | %s | %s; failing: %s |\n", $1, h, c, $9, $10 }'
} > "$OUT/table.md"
cat "$OUT/table.md"
log "TSV: $TSV; raw outputs: $OUT/raw"
