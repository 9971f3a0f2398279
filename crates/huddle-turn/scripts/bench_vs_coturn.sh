#!/bin/bash
# Rough CPU comparison of huddle-turn and coturn's turnserver under the same
# turnutils_uclient load, on loopback only. Needs Debian's `coturn` package.
#
#   crates/huddle-turn/scripts/bench_vs_coturn.sh [extra uclient flags, e.g. -t]
#
# Prints lost packets and the server's CPU time (all threads) for each.
set -eu
cd "$(dirname "$0")/../../.."
cargo build --release -q -p huddle-turn --example loopback_turn
target="${CARGO_TARGET_DIR:-target}"
out=$(mktemp -d)
port=3478
peer_port=3482

run() {
    local name=$1; shift
    local auth
    if [ "$name" = huddle ]; then
        "$target/release/examples/loopback_turn" > "$out/server" 2>&1 & server=$!
        sleep 1
        auth="-u $(sed -n 1p "$out/server" | cut -d' ' -f2) -w $(sed -n 2p "$out/server" | cut -d' ' -f2)"
    else
        turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port=$port \
            --use-auth-secret --static-auth-secret=example-secret --realm=huddle.local \
            --allow-loopback-peers --no-tls --no-dtls --no-cli --log-file=stdout > "$out/server" 2>&1 & server=$!
        sleep 1
        auth="-W example-secret"
    fi
    turnutils_peer -p $peer_port -L 127.0.0.1 > /dev/null 2>&1 & peer=$!
    sleep 0.5
    # shellcheck disable=SC2086
    timeout 120 turnutils_uclient "$@" -m 8 -n 3000 -z 1 -l 500 -c -e 127.0.0.1 -r $peer_port \
        -p $port $auth 127.0.0.1 > "$out/client" 2>&1 || true
    local ticks
    ticks=$(awk '{print $14+$15}' "/proc/$server/stat")
    echo "$name: $(grep 'Total lost packets' "$out/client" | tail -1 | cut -d: -f3-) cpu $((ticks * 10)) ms"
    kill $server $peer
    wait $server $peer 2>/dev/null || true
    sleep 1
}

run huddle "$@"
run coturn "$@"
rm -rf "$out"
