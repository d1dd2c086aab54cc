# Sourced by the order benchmarks. Every order waits on three disk syncs in a row (catalog,
# leader, follower), so order figures follow the disk, and the disk of a shared machine varies
# over a day (seen here: 0.1 to 3 ms a sync). The benchmarks print this beside their figures.

# Prints the mean milliseconds of one synced 4 KiB overwrite of a file in directory $1.
disk_sync_ms() {
  local f="$1/sync-probe" n=200 t0 t1
  dd if=/dev/zero of="$f" bs=4k count=$n status=none
  sync "$f"
  t0=$(date +%s%N)
  dd if=/dev/zero of="$f" bs=4k count=$n conv=notrunc oflag=dsync status=none
  t1=$(date +%s%N)
  rm -f "$f"
  awk -v ns=$((t1 - t0)) -v n=$n 'BEGIN { printf "%.3f", ns / n / 1e6 }'
}
