# Sourced by launch/bazaar: `up --netns`, every process on a host of its own (docs/OPERATIONS.md).
#
# Layout of one run directory's cluster, id N (1..250, claimed at `up` by creating the bridge,
# so two runs on one machine never share one):
#   bridge bzN-br in the root namespace, 10.77.N.1/24 (the root namespace's address on it)
#   per process a namespace bzN-NAME (bz7-order-2) with lo and eth0 (veth, host end bzNhI on
#   the bridge) at 10.77.N.2 broker, .3 catalog, .(10+k) order-k, .(100+k) frontend-k
# RUN_DIR/netns.env holds N; RUN_DIR/netns.txt one line per process: "NAME NAMESPACE ADDRESS VETH".
# Every internal socket binds the address of the process that owns its port, and connects to
# the owner's address: ep() asks netns_host_of_port for it, so command_for needs no change.
# Deleting a namespace deletes its veth and its iptables rules; the bridge goes last.

NETNS_ID=""

# True when the cluster of RUN_DIR runs in namespaces.
netns_on() { [ -n "$NETNS_ID" ]; }

# Reads RUN_DIR/netns.env (after cluster.env); leaves NETNS_ID empty for a loopback cluster.
netns_load() {
  NETNS_ID=""
  # shellcheck disable=SC1091
  [ -f "$RUN_DIR/netns.env" ] && . "$RUN_DIR/netns.env"
  return 0
}

netns_prefix() { echo "bz$NETNS_ID"; }
netns_name_of() { echo "bz$NETNS_ID-$1"; }

# The last byte of process $1's address.
netns_octet() {
  case "$1" in
    broker) echo 2 ;;
    catalog) echo 3 ;;
    order-*) echo $((10 + ${1#order-})) ;;
    frontend-*) echo $((100 + ${1#frontend-})) ;;
  esac
}

netns_addr_of() { echo "10.77.$NETNS_ID.$(netns_octet "$1")"; }

# The address that owns internal port $1: the process it belongs to (ports: see launch/bazaar),
# or 127.0.0.1 on a loopback cluster.
netns_host_of_port() {
  netns_on || { echo 127.0.0.1; return 0; }
  local off=$(($1 - BASE_PORT))
  if [ $off -ge 0 ] && [ $off -le 2 ]; then netns_addr_of broker
  elif [ $off -eq 3 ]; then netns_addr_of catalog
  elif [ $off -ge 10 ] && [ $off -lt $((10 + 2 * REPLICAS)) ]; then netns_addr_of "order-$((1 + (off - 10) / 2))"
  else echo 127.0.0.1; fi
}

# The host part of frontend $1's URL (its namespace's address, reachable from the root
# namespace over the bridge).
netns_http_host() {
  if netns_on; then netns_addr_of "frontend-$1"; else echo 127.0.0.1; fi
}

# Prefixes CMD (filled by command_for) with `ip netns exec NS`, and makes a frontend listen on
# its own address. ip execs the binary in place, so the pid started is the service's pid.
netns_wrap() {
  netns_on || return 0
  case "$1" in frontend-*) CMD+=(--address "$(netns_addr_of "$1")") ;; esac
  CMD=(ip netns exec "$(netns_name_of "$1")" "${CMD[@]}")
}

# With --netns the pid started first runs ip, which execs the service only after entering the
# namespace: until then (and during that exec) /proc/PID says neither "exited" nor "the
# service" reliably. Waits (bounded, 2 s) until PID is the bazaar binary itself.
netns_wait_exec() {
  netns_on || return 0
  local i exe
  for ((i = 0; i < 200; i++)); do
    exe="$(readlink "/proc/$1/exe" 2>/dev/null || true)"
    case "$exe" in */bazaar-*) return 0 ;; esac
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.01
  done
}

# Checks that this machine can make namespaces; one line on stderr and false when not.
netns_usable() {
  [ "$(id -u)" -eq 0 ] || { say "--netns needs root (namespaces, veths, a bridge)"; return 1; }
  command -v ip >/dev/null 2>&1 || { say "--netns needs ip (Debian iproute2: launch/bazaar deps)"; return 1; }
  local probe="bzprobe-$$"
  ip netns add "$probe" 2>/dev/null || { say "--netns: cannot create a network namespace here"; return 1; }
  ip netns del "$probe"
}

# Claims an id, makes the bridge and one namespace with its veth per process of all_names.
# Writes RUN_DIR/netns.env and RUN_DIR/netns.txt. On failure removes what it made.
netns_setup() {
  netns_usable || return 1
  local id start i
  start=$(($(cksum <<<"$RUN_DIR" | cut -d' ' -f1) % 250))
  NETNS_ID=""
  for ((i = 0; i < 250; i++)); do
    id=$((1 + (start + i) % 250))
    ip route show 2>/dev/null | grep -q "^10\.77\.$id\.0/24 " && continue  # someone else's subnet
    # Creating the bridge is the claim: it fails when another run holds this id.
    if ip link add "bz$id-br" type bridge 2>/dev/null; then NETNS_ID=$id; break; fi
  done
  [ -n "$NETNS_ID" ] || { say "--netns: no free id (bridges bz1-br..bz250-br all exist)"; return 1; }
  echo "NETNS_ID=$NETNS_ID" >"$RUN_DIR/netns.env"
  : >"$RUN_DIR/netns.txt"
  local br="bz$NETNS_ID-br" name ns addr veth k=0
  if ! { ip addr add "10.77.$NETNS_ID.1/24" dev "$br" && ip link set "$br" up; }; then
    say "--netns: cannot configure bridge $br"; netns_teardown; return 1
  fi
  for name in $(all_names); do
    k=$((k + 1))
    ns="$(netns_name_of "$name")" addr="$(netns_addr_of "$name")" veth="bz${NETNS_ID}h$k"
    if ! { ip netns add "$ns" &&
      ip link add "$veth" type veth peer name eth0 netns "$ns" &&
      ip link set "$veth" master "$br" up &&
      ip -n "$ns" link set lo up &&
      ip -n "$ns" addr add "$addr/24" dev eth0 &&
      ip -n "$ns" link set eth0 up; }; then
      say "--netns: cannot set up namespace $ns"; netns_teardown; return 1
    fi
    echo "$name $ns $addr $veth" >>"$RUN_DIR/netns.txt"
  done
  say "netns: bridge $br 10.77.$NETNS_ID.0/24, one namespace per process ($RUN_DIR/netns.txt)"
}

# Removes every namespace of this run's id (with their veths and iptables rules) and the
# bridge. Safe to call twice and on a half-made layout. Processes must be stopped first (a
# namespace with a live process loses its name but lives on until the process ends).
netns_teardown() {
  netns_on || return 0
  local ns veth
  # The host ends first: deleting a veth removes its pair at once, where deleting a namespace
  # leaves its links to the kernel's asynchronous clean-up.
  for veth in $(ip -o link show 2>/dev/null | grep -o "bz${NETNS_ID}h[0-9]*@" | tr -d @ || true); do
    ip link del "$veth" 2>/dev/null || true
  done
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^bz$NETNS_ID-" || true); do
    ip netns del "$ns" 2>/dev/null || say "netns: cannot delete namespace $ns"
  done
  ip link del "bz$NETNS_ID-br" 2>/dev/null || true
  rm -f "$RUN_DIR/netns.env" "$RUN_DIR/netns.txt"
  NETNS_ID=""
}
