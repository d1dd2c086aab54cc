# Sourced by launch/bazaar, its benchmarks and tests: loopback port checks.

# True when something listens on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Prints a base port P with P..P+31 and the metrics ports P+100..P+129 free, below Linux's
# ephemeral range (32768 and up), where outgoing connections take their local ports and could
# collide with a port chosen here.
pick_base_port() {
  local base p ok
  for _ in $(seq 50); do
    base=$((10000 + RANDOM % 22000)) ok=1
    for ((p = base; p < base + 32; p++)); do listening "$p" && { ok=0; break; }; done
    for ((p = base + 100; ok && p < base + 130; p++)); do listening "$p" && { ok=0; break; }; done
    [ $ok -eq 1 ] && { echo "$base"; return 0; }
  done
  return 1
}
