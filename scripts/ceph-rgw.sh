#!/usr/bin/env bash
# A one-node Ceph cluster with a RADOS Gateway, for tests against a real S3 server.
#
#   scripts/ceph-rgw.sh start DIR   creates (first time) and starts it; prints nothing but errors
#   scripts/ceph-rgw.sh wait DIR    waits (bounded) until the gateway answers, then prints the env
#   scripts/ceph-rgw.sh env DIR     prints `export COFFER_TEST_S3_*=...` lines for a running gateway
#   scripts/ceph-rgw.sh stop DIR    stops the daemons this script started (by their recorded pids)
#   scripts/ceph-rgw.sh status DIR  exit 0 if the gateway answers
#
# Layout: 1 mon, 1 BlueStore OSD on a sparse file, pools of size 1, msgr2 only, the beast
# frontend on 127.0.0.1 (a free port), and an S3 user made by `radosgw-admin user create`.
# No mgr and no systemd: each daemon runs in the foreground (-f), backgrounded here, its pid
# in DIR/run. Everything (config, keyrings, data, logs) lives under DIR; nothing else on the
# machine is touched, so several clusters can run side by side. `start` is idempotent: a
# running cluster is left alone, a stopped one is started again with its data.
#
# Needs Debian's ceph-mon ceph-osd radosgw ceph-common (Pacific in Debian 12) and node (free
# ports, the readiness check). Waits are bounded; on failure the tail of the daemons' logs is printed.
set -euo pipefail

cmd=${1:-}
dir=${2:-${COFFER_CEPH_DIR:-}}
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start|wait|env|stop|status DIR" >&2
  exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf="$dir/ceph.conf"
run="$dir/run"
logs="$dir/log"
# A cluster of its own name keeps every default path (/etc/ceph, /var/lib/ceph) out of the way.
ceph_() { timeout 30 ceph -c "$conf" -n client.admin -k "$dir/admin.keyring" "$@"; }

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

alive() {
  local pidfile="$run/$1.pid"
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

rgw_answers() {
  [[ -f "$dir/rgw.port" ]] || return 1
  # an anonymous GET / answers 200 (an empty bucket list) once the gateway serves
  node -e 'require("http").get({host:"127.0.0.1",port:+process.argv[1],path:"/",timeout:2000},r=>process.exit(r.statusCode===200?0:1)).on("error",()=>process.exit(1)).on("timeout",function(){this.destroy()})' "$(cat "$dir/rgw.port")" 2>/dev/null
}

fail() {
  echo "ceph-rgw: $*" >&2
  for f in "$logs"/*.log; do
    [[ -f "$f" ]] || continue
    echo "---- tail of $f" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}

# Backgrounds one daemon in the foreground mode, with its pid recorded.
launch() {
  local name=$1
  shift
  alive "$name" && return 0
  setsid "$@" >>"$logs/$name.out" 2>&1 </dev/null &
  echo $! >"$run/$name.pid"
}

create() {
  mkdir -p "$run" "$logs" "$dir/mon" "$dir/osd"
  local fsid mon_port
  fsid=$(cat /proc/sys/kernel/random/uuid)
  mon_port=$(free_port)
  echo "$mon_port" >"$dir/mon.port"
  free_port >"$dir/rgw.port"
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_port]
mon initial members = a
ms bind msgr1 = false
ms bind msgr2 = true
public network = 127.0.0.0/8
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $dir/admin.keyring
run dir = $run
admin socket = $run/\$name.asok
log file = $logs/\$name.log
pid file = $run/\$name.ceph.pid
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
# a test cluster: small caches, no scrubbing, nothing but what the gateway needs
osd memory target = 536870912
bluestore cache autotune = false
bluestore cache size = 67108864
osd scrub begin hour = 0
osd scrub end hour = 0
osd max scrubs = 0

[mon.a]
mon data = $dir/mon
keyring = $dir/mon.keyring
mon addr = [v2:127.0.0.1:$mon_port]

[osd.0]
osd data = $dir/osd
keyring = $dir/osd/keyring
osd objectstore = bluestore
bluestore block path = $dir/osd.block
bluestore block create = true
bluestore block size = 10737418240
bluestore block db create = false
bluestore block wal create = false
osd max object name len = 460
osd max object namespace len = 64

[client.rgw.a]
keyring = $dir/rgw.keyring
rgw frontends = beast endpoint=127.0.0.1:$(cat "$dir/rgw.port")
rgw data = $dir/rgw
rgw dns name = 127.0.0.1
rgw enable usage log = false
rgw thread pool size = 64
EOF
  ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$dir/admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$dir/mon.keyring" --import-keyring "$dir/admin.keyring" >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
  ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.keyring" >>"$logs/mkfs.out" 2>&1 \
    || fail "ceph-mon --mkfs failed"
  touch "$dir/.created-mon"
}

start_mon() {
  launch mon ceph-mon -f -c "$conf" -i a
  for _ in $(seq 1 60); do
    ceph_ --connect-timeout 2 mon stat >/dev/null 2>&1 && return 0
    alive mon || fail "ceph-mon exited"
    sleep 0.5
  done
  fail "ceph-mon did not answer within 30 s"
}

create_osd() {
  local uuid
  uuid=$(cat /proc/sys/kernel/random/uuid)
  local id
  id=$(ceph_ osd create "$uuid")
  [[ "$id" == "0" ]] || fail "expected osd id 0, got $id"
  ceph-osd -c "$conf" -i 0 --mkfs --mkkey --no-mon-config --osd-uuid "$uuid" >>"$logs/mkfs.out" 2>&1 || fail "ceph-osd --mkfs failed"
  ceph_ auth add osd.0 osd 'allow *' mon 'allow profile osd' -i "$dir/osd/keyring" >/dev/null 2>&1
  ceph_ osd crush add osd.0 1.0 host=local root=default >/dev/null 2>&1
  touch "$dir/.created-osd"
}

create_rgw_key() {
  ceph_ auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' -o "$dir/rgw.keyring" >/dev/null 2>&1
  mkdir -p "$dir/rgw"
  touch "$dir/.created-rgw"
}

create_user() {
  local access secret
  access=$(head -c 15 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr 'a-f' 'A-F' | cut -c1-20)
  secret=$(head -c 30 /dev/urandom | od -An -tx1 | tr -d ' \n' | cut -c1-40)
  timeout 60 radosgw-admin -c "$conf" -n client.admin -k "$dir/admin.keyring" user create \
    --uid=coffer-test --display-name="coffer tests" --access-key="$access" --secret-key="$secret" >/dev/null 2>>"$logs/user.out" \
    || fail "radosgw-admin user create failed"
  printf '%s\n%s\n' "$access" "$secret" >"$dir/user"
  chmod 600 "$dir/user"
}

print_env() {
  [[ -f "$dir/user" ]] || fail "no S3 user yet: run start and wait first"
  local access secret
  access=$(sed -n 1p "$dir/user")
  secret=$(sed -n 2p "$dir/user")
  echo "export COFFER_TEST_S3_ENDPOINT=http://127.0.0.1:$(cat "$dir/rgw.port")"
  echo "export COFFER_TEST_S3_ACCESS_KEY=$access"
  echo "export COFFER_TEST_S3_SECRET=$secret"
  echo "export COFFER_TEST_S3_BUCKET=coffer-test"
  echo "export COFFER_TEST_S3_REGION=us-east-1"
  # for tests that administer the gateway (quotas) with radosgw-admin
  echo "export COFFER_TEST_CEPH_DIR=$dir"
}

do_start() {
  mkdir -p "$run" "$logs"
  if [[ -f "$dir/.created-mon" && ! -f "$dir/.created-rgw" ]]; then
    # a creation that died half-way: start over (only this script's files live here)
    do_stop
    find "$dir" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
    mkdir -p "$run" "$logs"
  fi
  [[ -f "$dir/.created-mon" ]] || create
  start_mon
  [[ -f "$dir/.created-osd" ]] || create_osd
  launch osd ceph-osd -f -c "$conf" -i 0
  [[ -f "$dir/.created-rgw" ]] || create_rgw_key
  launch rgw radosgw -f -c "$conf" -n client.rgw.a
}

do_wait() {
  local limit=${COFFER_CEPH_WAIT_SECONDS:-180}
  local deadline=$((SECONDS + limit))
  until rgw_answers; do
    alive mon || fail "ceph-mon is not running"
    alive osd || fail "ceph-osd is not running"
    alive rgw || fail "radosgw is not running"
    ((SECONDS < deadline)) || fail "radosgw did not answer within $limit s"
    sleep 0.5
  done
  [[ -f "$dir/user" ]] || create_user
  print_env
}

do_stop() {
  local name pid
  for name in rgw osd mon; do
    [[ -f "$run/$name.pid" ]] || continue
    pid=$(cat "$run/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$run/$name.pid"
  done
}

case "$cmd" in
  start) do_start ;;
  wait) do_wait ;;
  env) print_env ;;
  stop) do_stop ;;
  status) rgw_answers ;;
  *) echo "usage: $0 start|wait|env|stop|status DIR" >&2; exit 2 ;;
esac
