#!/usr/bin/env bash
# Separately built programs share a manager's named objects: mp-manager serves them, two
# consumers and a producer connect (examples/manager_*.cpp). Also: a wrong key is refused, and
# SIGTERM stops mp-manager and removes its socket.
#   manager_programs.sh MP_MANAGER PRODUCER CONSUMER WORK_DIR
set -euo pipefail
mgr=$1 producer=$2 consumer=$3 work=$4
rm -rf "$work" && mkdir -p "$work" && chmod 700 "$work"
printf 'test-key\n' >"$work/key"
addr="$work/manager.sock"
"$mgr" --address "$addr" --authkey-file "$work/key" >"$work/manager.out" 2>&1 &
server=$!
trap 'kill -9 $server 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  grep -q "serving on" "$work/manager.out" && break
  sleep 0.05
done
grep -q "serving on $addr" "$work/manager.out" || { echo "mp-manager did not start:"; cat "$work/manager.out"; exit 1; }

if timeout 60 "$consumer" "$addr" wrong-key >"$work/wrong.out" 2>&1; then
  echo "a wrong key was accepted"; exit 1
fi
grep -q "refused the authkey" "$work/wrong.out" || { echo "no authentication error:"; cat "$work/wrong.out"; exit 1; }

timeout 120 "$consumer" "$addr" test-key >"$work/c1.out" &
c1=$!
timeout 120 "$consumer" "$addr" test-key >"$work/c2.out" &
c2=$!
timeout 120 "$producer" "$addr" test-key 200 2 | tee "$work/producer.out"
wait $c1
wait $c2
# 1² + ... + 200² = 2686700
grep -qx "consumed 200 jobs, sum of squares 2686700" "$work/producer.out"
total=$(($(awk '{print $2}' "$work/c1.out") + $(awk '{print $2}' "$work/c2.out")))
[ "$total" = 200 ] || { echo "the consumers took $total jobs, not 200"; exit 1; }

kill -TERM $server
wait $server || true
[ ! -e "$addr" ] || { echo "mp-manager left its socket behind"; exit 1; }
trap - EXIT
echo "manager programs: ok"
