# bench/lib.sh — shell helpers for the rows in bench/rows/ (sourced).
#
#   row KEY "LABEL" UNIT "BASELINE" "BUDGET"   declare a row (bench/README.md)
#   result KEY MMSIM [BASELINE]                one run's figures
#   mmsimd_start [FLAGS...]    start $B/mmsimd on a free loopback port with a
#                              fresh data dir; sets MMSIMD_PID and URL
#   mmsimd_stop                SIGTERM it and wait
#   nginx_start                nginx serving a static 200 JSON on a free
#                              loopback port, single worker; sets NGINX_URL
#   nginx_stop
#   wrk_run URL [LUA]          one wrk run with the shared settings
#                              ($WRK_ARGS); prints "REQ_PER_S P99_MS NON2XX"
#   api METHOD PATH [JSON]     one request to $URL; prints the body, fails
#                              (exit 1 of the row) unless the status is 2xx
#   jget FIELD                 reads stdin JSON, prints .FIELD
#   touch_setup                on $URL: machine m-1 (64 MiB), pid 1, one
#                              4 KiB anonymous mapping; sets TOUCH_URL and
#                              TOUCH_LUA (a wrk script: a small write :touch)
#
# Every process started here is stopped by the EXIT trap of the row.
# Variables the driver (bench/run) sets: B (build dir), BENCH_RUNS,
# BENCH_TMP (a scratch dir removed afterwards).

set -eu
B=${B:-${1:-build}}
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_TMP=${BENCH_TMP:-$(mktemp -d /tmp/mmsim-bench.XXXXXX)}
BENCH_DIR=$(cd "$(dirname "$0")/.." && pwd)
# One wrk setting for every HTTP row (mmsim and nginx alike): two threads,
# 64 connections, 5 s, latency percentiles.
WRK_ARGS=${WRK_ARGS:--t2 -c64 -d5s --latency}
MMSIMD_PID= NGINX_PID=

row() { printf 'row %s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" "$5"; }
result() { echo "run $*"; }

bench_cleanup() {
	[ -z "$MMSIMD_PID" ] || kill "$MMSIMD_PID" 2>/dev/null || true
	[ -z "$NGINX_PID" ] || kill "$NGINX_PID" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# Reads the "listening on http://HOST:PORT" line from file $1 (deadline 10 s).
bench_wait_line() {
	i=0
	while ! grep -q '^listening on ' "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 1000 ] || { echo "bench: no listening line in $1" >&2; return 1; }
		sleep 0.01
	done
	sed -n 's/^listening on //p' "$1" | head -n 1
}

mmsimd_start() {
	d=$(mktemp -d "$BENCH_TMP/data.XXXXXX")
	"$B/mmsimd" --listen 127.0.0.1:0 --data "$d" --log "" "$@" >"$d/out" &
	MMSIMD_PID=$!
	URL=$(bench_wait_line "$d/out")
	MMSIMD_DATA=$d
}

mmsimd_stop() {
	kill "$MMSIMD_PID"
	wait "$MMSIMD_PID" || true
	MMSIMD_PID=
}

# A free loopback port: bind 0, read it, release it (nginx cannot print
# the port it picked).
bench_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

nginx_start() {
	d=$(mktemp -d "$BENCH_TMP/nginx.XXXXXX")
	port=$(bench_free_port)
	cat >"$d/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
error_log $d/error.log;
pid $d/nginx.pid;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $d;
	proxy_temp_path $d;
	fastcgi_temp_path $d;
	uwsgi_temp_path $d;
	scgi_temp_path $d;
	server {
		listen 127.0.0.1:$port;
		location / {
			default_type application/json;
			return 200 '{"status":"ok"}';
		}
	}
}
EOF
	nginx -c "$d/nginx.conf" -p "$d" &
	NGINX_PID=$!
	NGINX_URL=http://127.0.0.1:$port
	i=0
	until curl -sf "$NGINX_URL/" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 1000 ] || { cat "$d/error.log" >&2; return 1; }
		sleep 0.01
	done
}

nginx_stop() {
	kill "$NGINX_PID"
	wait "$NGINX_PID" || true
	NGINX_PID=
}

# wrk's "99%  1.23ms" → milliseconds.
wrk_run() {
	# shellcheck disable=SC2086
	wrk $WRK_ARGS ${2:+-s "$2"} "$1" | awk '
		function ms(v) {
			if (v ~ /us$/) return v / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /s$/) return v * 1000
			return v
		}
		/Requests\/sec/ { r = $2 }
		/^ +99%/ { p = ms($2) }
		/Non-2xx/ { bad = $NF }
		END { printf "%s %.3f %d\n", r, p, bad }'
}

api() {
	out=$BENCH_TMP/api.out
	code=$(curl -sS -o "$out" -w '%{http_code}' -X "$1" "$URL$2" \
		${3:+-H 'Content-Type: application/json' -d "$3"})
	case $code in
	2??) cat "$out" ;;
	*) echo "bench: $1 $2 → $code: $(cat "$out")" >&2; return 1 ;;
	esac
}

jget() {
	python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# A wrk script that POSTs a fixed JSON body: bench_post_lua FILE BODY.
bench_post_lua() {
	cat >"$1" <<EOF
wrk.method = "POST"
wrk.body = '$2'
wrk.headers["Content-Type"] = "application/json"
EOF
}

touch_setup() {
	api POST /v1/machines '{"config":{"memory":"64M"}}' >/dev/null
	api POST /v1/machines/m-1/processes >/dev/null
	addr=$(api POST /v1/machines/m-1/processes/1:mmap \
		'{"length":"4K","prot":"rw-","flags":["MAP_PRIVATE","MAP_ANONYMOUS"]}' | jget addr)
	TOUCH_URL=$URL/v1/machines/m-1/processes/1:touch
	TOUCH_LUA=$BENCH_TMP/touch.lua
	bench_post_lua "$TOUCH_LUA" "{\"addr\":\"$addr\",\"length\":\"4K\",\"access\":\"write\"}"
}
