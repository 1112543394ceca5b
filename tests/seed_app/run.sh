#!/usr/bin/env bash
# PHP-level test of the seed app (examples/seed): serves a temporary copy of it with PHP's built-in
# server and checks every route, with the FAULTY switch off, on through the environment (1 / true)
# and on through a FAULTY file in the app root. Needs php (8.2-cli) with Debian's Symfony 5.4
# components (php-symfony-http-foundation, php-symfony-routing) and curl.
#
#   tests/seed_app/run.sh          # last line: "N passed, M failed"; exit status 1 when M > 0
#
# Environment: PHP (default php), SEED_APP (default <repo>/examples/seed).
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
php=${PHP:-php}
seed=${SEED_APP:-$repo/examples/seed}
ready_deadline_s=10

passed=0
failed=0
server_pid=""
port=""
work=$(mktemp -d "${TMPDIR:-/tmp}/seed_app.XXXXXX")

stop_server() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=""
  fi
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pass() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }

# The app is copied so that the FAULTY file switch never touches the source tree.
app=$work/app
cp -R "$seed" "$app" || { fail "copy $seed"; echo "$passed passed, $failed failed"; exit 1; }
rm -f "$app/FAULTY"
php_version=$("$php" -r 'echo PHP_VERSION;')

free_port() {
  # shellcheck disable=SC2016 # PHP code, not shell expansions
  "$php" -r '$s = stream_socket_server("tcp://127.0.0.1:0", $errno, $error) or exit(1);
             echo substr(strrchr(stream_socket_get_name($s, false), ":"), 1);'
}

now_ms() { date +%s%3N; }

# start_server LABEL [VAR=value ...]: serves $app on a free port with exactly the given switches in
# its environment, and waits (polling, until a deadline) until it answers. Retries on another port
# when the server exits early (the port was taken between picking and binding it).
start_server() {
  local label=$1 deadline _
  shift
  for _ in 1 2 3; do
    port=$(free_port) || { fail "$label: pick a free port"; return 1; }
    env -u FAULTY -u AWS_LAMBDA_FUNCTION_VERSION -u PHP_CLI_SERVER_WORKERS "$@" \
      "$php" -S "127.0.0.1:$port" -t "$app/public" "$app/public/index.php" >"$work/server.log" 2>&1 &
    server_pid=$!
    deadline=$(($(now_ms) + ready_deadline_s * 1000))
    while kill -0 "$server_pid" 2>/dev/null; do
      if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/health"; then
        return 0
      fi
      if (($(now_ms) > deadline)); then
        fail "$label: server on port $port not answering after ${ready_deadline_s}s"
        sed 's/^/    server: /' "$work/server.log"
        stop_server
        return 1
      fi
      sleep 0.02 # poll interval
    done
    wait "$server_pid" 2>/dev/null
    server_pid=""
  done
  fail "$label: server did not start"
  sed 's/^/    server: /' "$work/server.log"
  return 1
}

# check NAME METHOD PATH STATUS BODY: one request; the status and the (exact) JSON body must match.
# Leaves the total time in seconds in $elapsed.
check() {
  local name=$1 method=$2 path=$3 want_status=$4 want_body=$5 out status type
  out=$(curl -s -X "$method" --max-time 40 -o "$work/body" \
    -w '%{http_code} %{time_total} %{content_type}' "http://127.0.0.1:$port$path")
  read -r status elapsed type <<<"$out"
  local body
  body=$(cat "$work/body" 2>/dev/null)
  if [[ $status != "$want_status" ]]; then
    fail "$name: $method $path: status $status, want $want_status (body: $body)"
  elif [[ $body != "$want_body" ]]; then
    fail "$name: $method $path: body $body, want $want_body"
  elif [[ $type != application/json* ]]; then
    fail "$name: $method $path: content type '$type', want application/json"
  else
    pass "$name: $method $path -> $status $body"
  fi
}

# 1. The switch off; the version comes from AWS_LAMBDA_FUNCTION_VERSION, as Lambda passes it.
if start_server "switch off" AWS_LAMBDA_FUNCTION_VERSION=7; then
  check "home" GET / 200 "{\"app\":\"bref-canary-deployments-demo\",\"version\":\"7\",\"php\":\"$php_version\"}"
  check "health" GET /health 200 '{"status":"ok"}'
  check "slow" GET '/slow?ms=50' 200 '{"slept_ms":50,"version":"7"}'
  if awk -v t="$elapsed" 'BEGIN { exit !(t >= 0.050) }'; then
    pass "slow: took ${elapsed}s (>= 0.050s)"
  else
    fail "slow: took ${elapsed}s, want >= 0.050s"
  fi
  check "slow, negative ms" GET '/slow?ms=-5' 200 '{"slept_ms":0,"version":"7"}'
  check "checkout" GET /checkout 200 '{"status":"ordered","version":"7"}'
  check "checkout" POST /checkout 200 '{"status":"ordered","version":"7"}'
  check "unknown path" GET /no/such/page 404 '{"error":"Not Found","path":"\/no\/such\/page"}'

  # 2. The file switch: a FAULTY file next to serverless.yml, read on every request.
  : >"$app/FAULTY"
  check "FAULTY file" GET /checkout 500 '{"error":"Internal Server Error"}'
  check "FAULTY file, other routes" GET /health 200 '{"status":"ok"}'
  rm -f "$app/FAULTY"
  check "FAULTY file removed" GET /checkout 200 '{"status":"ordered","version":"7"}'
  stop_server
  if grep -q 'Uncaught RuntimeException: checkout is broken' "$work/server.log"; then
    pass "FAULTY file: the exception is logged"
  else
    fail "FAULTY file: the exception is not in the server's log"
    sed 's/^/    server: /' "$work/server.log"
  fi
fi

# 3. The environment switch, and no version in the environment.
for value in 1 true TRUE; do
  if start_server "FAULTY=$value" "FAULTY=$value"; then
    check "FAULTY=$value" GET /checkout 500 '{"error":"Internal Server Error"}'
    check "FAULTY=$value, home" GET / 200 "{\"app\":\"bref-canary-deployments-demo\",\"version\":\"unknown\",\"php\":\"$php_version\"}"
    stop_server
  fi
done
for value in 0 false ''; do
  if start_server "FAULTY='$value'" "FAULTY=$value"; then
    check "FAULTY='$value'" GET /checkout 200 '{"status":"ordered","version":"unknown"}'
    stop_server
  fi
done

echo "$passed passed, $failed failed"
((failed == 0))
