#!/bin/busybox sh
# /init of the VM that tests/vm/test-vm.sh boots: Debian's kernel (cgroup v2), and an
# initramfs holding only busybox (no `ip`: skiff needs no network tool), the static
# skiff, the kernel modules in /modules and `skiff save`'s archive of the test image.
# Stage 1 moves everything onto a tmpfs and switch_roots
# there (pivot_root(2) refuses an initramfs root, and skiff should take its usual
# path); stage 2 mounts what a booted system has, loads the image and runs the
# checks, printing `ok - NAME` / `not ok - NAME` on the serial console, then
# `skiff-vm: N passed, M failed`, and powers off. The checks mirror tests/cgroups.rs
# (same names) on cgroup v2, plus a plain run, run -d/exec/stop/rm, and networks.
/bin/busybox --install -s /bin
rm /bin/ip /bin/ifconfig /bin/route
export PATH=/bin

if [ "$1" != stage2 ]; then
  mount -t tmpfs -o mode=755 root /root
  cp -a /bin /init /images.tar /modules /root/
  mkdir -p /root/dev /root/proc /root/sys /root/tmp /root/var/lib/skiff
  exec switch_root /root /init stage2
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
busybox ip link set lo up # as a booted system's own scripts do (not skiff's)
while read -r module; do
  insmod "/modules/$module" || echo "# insmod $module failed"
done </modules/order
export SKIFF_ROOT=/var/lib/skiff
img=127.0.0.1:5555/library/busybox
passed=0 failed=0 out='' err='' status=0

# run ARGS...: skiff ARGS..., its stdout in $out, stderr in $err, exit status in $status.
run() {
  status=0
  skiff "$@" >/tmp/out 2>/tmp/err </dev/null || status=$?
  out=$(cat /tmp/out) err=$(cat /tmp/err)
}

# check NAME CONDITION: CONDITION is a shell test over $out, $err and $status.
check() {
  if eval "$2"; then
    echo "ok - $1"
    passed=$((passed + 1))
  else
    echo "not ok - $1"
    echo "#   want: $2"
    echo "#   exit status $status"
    echo "$out" | head -20 | sed 's/^/#   stdout: /'
    echo "$err" | head -5 | sed 's/^/#   stderr: /'

    failed=$((failed + 1))
  fi
}

# Lines of $out that start with a word: `field current` prints what follows it.
field() { echo "$out" | sed -n "s/^$1 //p" | head -1; }

echo "# kernel $(uname -r), cgroup controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"

run load -q -i /images.tar
check "skiff load puts the saved image in the store" '[ $status = 0 ]'

run run --rm --pull never $img echo hello
check "a plain skiff run" '[ $status = 0 ] && [ "$out" = hello ]'

# A network interface's name the kernel does not find sends it to modprobe for a driver
# of that name, if the asker holds CAP_NET_ADMIN (SIOCGIFINDEX, SIOCGIFFLAGS: dev_load);
# skiff looks its links up without it. Each modprobe the kernel starts is logged.
printf '#!/bin/sh\necho "$*" >>/tmp/modprobe.log\n' >/tmp/modprobe
chmod +x /tmp/modprobe
echo /tmp/modprobe >/proc/sys/kernel/modprobe
busybox ifconfig nosuchlink0 >/dev/null 2>&1 # what an asker with CAP_NET_ADMIN sets off

run run --rm $img ip -o -4 addr show eth0
check "the default network is the bridge, made with no ip or nft in the VM" \
  'echo "$out" | grep -q "eth0 *inet 10\.[0-9.]*/16"'
check "skiff's lookups of links that are not there start no modprobe (ifconfig's do)" \
  'grep -q netdev-nosuchlink0 /tmp/modprobe.log && ! grep -q "netdev-skiff\|netdev-veth" /tmp/modprobe.log'

run run --rm --trace $img true
check "the root is overlayfs, entered by pivot_root" \
  'echo "$err" | grep -q overlay && echo "$err" | grep -q "pivot_root(\."'
check "v2: the container is born in its cgroup (clone3), it does not move there" \
  'echo "$err" | grep -q "clone3(CLONE_NEWPID|CLONE_INTO_CGROUP" && ! echo "$err" | grep -q "cgroup.procs"'

run run --rm $img cat /proc/self/cgroup
check "cgroup v2, and the container is the root of its cgroup namespace" '[ "$out" = "0::/" ]'

run run --name hog --memory 32m $img dd if=/dev/zero of=/dev/null bs=128M count=1
check "memory_limit_ooms_with_137" '[ $status = 137 ]'
id=$(skiff inspect hog | sed 's/.*"Id":"\([0-9a-f]*\)".*/\1/')
run inspect hog
check "memory: inspect says OOMKilled" 'echo "$out" | grep -q "\"OOMKilled\":true"'
run rm hog
check "memory: the cgroup is gone once recorded, its skiff/ parent stays" \
  '[ ! -e /sys/fs/cgroup/skiff/$id ] && [ -d /sys/fs/cgroup/skiff ]'

run run --rm --pids-limit 20 $img sh -c '
  (i=0; while [ $i -lt 30 ]; do sleep 1000 & i=$((i+1)); done)
  read n < /sys/fs/cgroup/pids.current; echo "current $n"
  while read k v; do echo "events $k $v"; done < /sys/fs/cgroup/pids.events
  kill -9 -1; /bin/echo answered'
check "pids_limit_makes_fork_fail_past_it_and_the_container_still_answers" \
  'echo "$err" | grep -q "can.t fork" && [ "$(field current)" -le 20 ] &&
   [ "$(field "events max")" -ge 1 ] && [ "${out##*
}" = answered ] && [ $status = 0 ]'

run run --rm --cpus 0.5 $img sh -c '
  read max < /sys/fs/cgroup/cpu.max; echo "max $max"
  throttled() { while read k v; do [ $k = nr_throttled ] && t=$v; done < /sys/fs/cgroup/cpu.stat; }
  throttled; before=$t; i=0
  while [ $t -lt $((before + 3)) ] && [ $i -lt 300000 ]; do throttled; i=$((i+1)); done
  echo "throttled $before $t"'
before=${out##*throttled } before=${before%% *} after=${out##* }
check "cpus_set_a_quota_and_a_busy_loop_gets_throttled" \
  '[ "$(field max)" = "50000 100000" ] && [ "$after" -ge $((before + 3)) ]'

run run --rm --cpuset-cpus 1 $img sh -c 'grep Cpus_allowed_list /proc/self/status; cat /sys/fs/cgroup/cpuset.cpus'
check "cpuset_pins_the_container_to_its_cpus" '[ "$out" = "$(printf "Cpus_allowed_list:\t1\n1")" ]'

run run --rm --memory 64m --memory-swap 96m --memory-reservation 16m --cpus 1.5 \
  --cpu-shares 512 --pids-limit 33 $img sh -c '
  cd /sys/fs/cgroup
  for f in memory.max memory.swap.max memory.low cpu.max cpu.weight pids.max; do
    read v < $f; echo "$f $v"; done
  touch x 2>/dev/null && echo writable; ls /sys/fs/cgroup | grep -c skiff'
want='memory.max 67108864
memory.swap.max 33554432
memory.low 16777216
cpu.max 150000 100000
cpu.weight 20
pids.max 33
0'
check "every_limit_is_visible_inside_and_nothing_of_the_host_tree" '[ "$out" = "$want" ]'

run run --rm --device /dev/null:/dev/mynull --device /dev/kmsg:/dev/k:r $img sh -c '
  echo hi >/dev/mynull && echo written; mknod /tmp/disk b 8 0 && echo made; echo x >/dev/k'
check "a_device_appears_where_asked_and_the_guard_allows_dockers_list_plus_it (v2: BPF)" \
  '[ "$out" = "$(printf "written\nmade")" ] && [ $status != 0 ] &&
   echo "$err" | grep -q "Operation not permitted"'
run run --rm --privileged --device /dev/kmsg:/dev/k:r $img sh -c 'echo skiff-vm >/dev/k'
check "--privileged: no devices guard" '[ $status = 0 ]'

# --userns=auto (issue 17): the store is on the initramfs's tmpfs, which 6.1 cannot
# idmap (tmpfs can from 6.3): the layers are copied and chowned into the range instead.
run run --rm --trace --userns=auto $img sh -c 'id -u; stat -c "%u %g" /bin/busybox; read a b c </proc/self/uid_map; echo $a $b'
check "--userns=auto: root inside owns the image's files, a range of host IDs outside" \
  '[ "$out" = "$(printf "0\n0 0\n0 1000000000")" ]'
refused=$(echo "$err" | grep -o "idmapped mounts are refused here (.*): copy" | sed 's/: copy$//')
if [ -n "$refused" ]; then
  echo "# --userns=auto: $refused: the layers were copied and chowned"
else
  echo "# --userns=auto: the layers were mounted idmapped"
fi

run run -d --init --name svc --memory 64m $img sleep 1000
id=$out
check "run -d prints the ID, and the container has a cgroup" \
  '[ $status = 0 ] && [ ${#id} = 64 ] && [ -d /sys/fs/cgroup/skiff/$id ]'
run stats --no-stream svc
check "stats shows the memory limit and two processes (init and sleep)" \
  'echo "$out" | grep -q "^${id%${id#????????????}} .* / 64MiB .* 2$"'
run update --memory 128m --cpus 0.5 svc
check "update: memory.max and cpu.max of the running container" \
  '[ $status = 0 ] && [ "$(cat /sys/fs/cgroup/skiff/$id/memory.max)" = 134217728 ] &&
   [ "$(cat /sys/fs/cgroup/skiff/$id/cpu.max)" = "50000 100000" ]'
run exec --trace svc cat /proc/self/cgroup
check "exec: born in the container's cgroup (clone3) and in its cgroup namespace" \
  '[ $status = 0 ] && [ "$out" = "0::/" ] && echo "$err" | grep -q "setns(pidfd" &&
   echo "$err" | grep -q "clone3(CLONE_INTO_CGROUP" && ! echo "$err" | grep -q "cgroup.procs"'
run pause svc
check "pause: v2's cgroup.events says frozen, ps says Paused" \
  '[ $status = 0 ] && grep -qx "frozen 1" /sys/fs/cgroup/skiff/$id/cgroup.events &&
   skiff ps | grep -q "(Paused) .*svc$"'
run stop svc
check "stop (of the paused container: thawed to take its signal)" '[ $status = 0 ] && [ "$out" = svc ]'
run ps -a
check "ps -a shows it exited by SIGTERM" 'echo "$out" | grep -q "Exited (143).*svc$"'
run rm svc
check "rm, and no cgroup is left" '[ $status = 0 ] && [ ! -e /sys/fs/cgroup/skiff/$id ]'

status=0
unshare -m sh -c "mount -o remount,bind,ro /sys/fs/cgroup &&
  exec skiff run --rm --memory 32m $img true" >/tmp/out 2>/tmp/err || status=$?
out=$(cat /tmp/out) err=$(cat /tmp/err)
check "a_limit_where_cgroupfs_is_read_only_is_a_one_line_error" \
  '[ $status = 125 ] && [ "$(echo "$err" | wc -l)" = 1 ] &&
   echo "$err" | grep -q -- "--memory cannot be enforced here: .*Read-only file system"'

# skiff inside a container's cgroup that holds processes, shown as the whole tree (as in
# Docker with a writable cgroupfs): v2 lets no controller be handed down from there.
mkdir /sys/fs/cgroup/outer
inner() {
  echo 0 >/sys/fs/cgroup/outer/cgroup.procs &&
    unshare -m sh -c "mount --bind /sys/fs/cgroup/outer /sys/fs/cgroup && skiff run --rm $*"
}
status=0
(inner --memory 32m $img true) >/tmp/out 2>/tmp/err || status=$?
out=$(cat /tmp/out) err=$(cat /tmp/err)
check "a limit inside a cgroup that holds processes names v2's rule" \
  '[ $status = 125 ] && [ "$(echo "$err" | wc -l)" = 1 ] &&
   echo "$err" | grep -q "no-internal-processes rule"'
status=0
(inner $img echo unlimited) >/tmp/out 2>/tmp/err || status=$?
out=$(cat /tmp/out) err=$(cat /tmp/err)
check "and without limits it runs there" '[ $status = 0 ] && [ "$out" = unlimited ]'
# The removed container's deleter (lifecycle/reclaim.rs) may still be in `outer`.
for _ in $(seq 100000); do [ -z "$(cat /sys/fs/cgroup/outer/cgroup.procs)" ] && break; done
rmdir /sys/fs/cgroup/outer

run run -d --name web --network bridge $img sh -c 'mkdir /w && hostname >/w/name && exec httpd -f -p 8080 -h /w'
web=$out
web_ip=$(skiff inspect web | sed 's/.*"IPAddress":"\([0-9.]*\)".*/\1/')
# httpd listens a moment after `run -d` returns: the client asks until it answers (at most 5 s).
run run --rm --network bridge $img sh -c "
  for i in \$(seq 100); do wget -q -O - http://$web_ip:8080/name && exit; usleep 50000; done; exit 1"
check "network: a container reaches another on the bridge by its address" \
  '[ $status = 0 ] && [ "$out" = "${web%${web#????????????}}" ]'
run rm -f web
check "network: rm -f the server" '[ $status = 0 ]'
run network create vmnet
check "network: create a user network" '[ $status = 0 ]'
run run -d --name named --network vmnet -p 8080:8080 $img sh -c 'mkdir /w && hostname >/w/name && exec httpd -f -p 8080 -h /w'
named=${out%${out#????????????}}
run run --rm --network vmnet $img sh -c "
  for i in \$(seq 100); do wget -q -O - http://named:8080/name && exit; usleep 50000; done; exit 1"
check "network: two containers on a user network talk by name" '[ $status = 0 ] && [ "$out" = "$named" ]'
status=0
# busybox's nc, as its wget crashes in a root with no /etc (the guest's)
out=$(printf 'GET /name HTTP/1.0\r\n\r\n' | nc -w 5 127.0.0.1 8080 2>/tmp/err | tail -n 1) || status=$?
check "network: a published port answers from the VM's shell" '[ $status = 0 ] && [ "$out" = "$named" ]'
run rm -f named
run network rm vmnet
check "network: rm the server, then its network" '[ $status = 0 ]'
run run --rm --network none $img cat /proc/net/dev
check "network: --network none has only lo" \
  '[ $status = 0 ] && [ "$(echo "$out" | grep -c :)" = 1 ] && echo "$out" | grep -q "lo:"'

# --restart on the VM's kernel, and boot with no daemon: the init system runs
# `skiff start --restartable` (README). The reboot-free proof: kill the supervisor and
# the container, as a power cut would, then run the boot command.
run run -d --name keep --restart always $img sh -c 'echo up; exec sleep 1000'
keep=$out
recorded() { sed "s/.*\"$1\":{\"pid\":\([0-9]*\).*/\1/" /var/lib/skiff/containers/$keep/state.json; }
# until_running: polls inspect (at most 5 s) until the container runs with a pid other than $1.
until_running() {
  for i in $(seq 100); do
    run inspect keep
    echo "$out" | grep -q '"Running":true,"Restarting":false,"Pid":[1-9]' &&
      ! echo "$out" | grep -q "\"Pid\":$1," && return
    usleep 50000
  done
}
first=$(recorded pid)
kill -9 "$first"
until_running "$first"
check "restart: always brings the service back after kill -9 (a new PID namespace)" \
  'echo "$out" | grep -q "\"RestartCount\":1," && [ -d /sys/fs/cgroup/skiff/$keep ]'
kill -9 "$(recorded supervisor)" "$(recorded pid)"
run ps -a
check "restart: with its supervisor killed too, it is down" 'echo "$out" | grep -q "Exited (255).*keep$"'
second=$(recorded pid)
run start --restartable
check "restart: start --restartable starts it, as at boot" '[ $status = 0 ] && [ "$out" = "$keep" ]'
until_running "$second"
check "restart: the service is back, in a cgroup of its own" \
  'echo "$out" | grep -q "\"Running\":true" && [ -d /sys/fs/cgroup/skiff/$keep ]'
run rm -f keep
check "restart: rm -f ends it for good" '[ $status = 0 ] && [ ! -e /sys/fs/cgroup/skiff/$keep ]'

# The runtime mode (issue 16; tests/oci.rs on v1): a relative cgroupsPath lies under the
# parent of skiff's own cgroup (this script's, the root here), as runc makes it on v2,
# with the config's cpu period and cpuset; a v1-only setting is refused by name.
bundle=/tmp/bundle && mkdir -p $bundle/rootfs/bin && cp /bin/busybox $bundle/rootfs/bin/
bundle_config() { # bundle_config RESOURCES: config.json with that linux.resources
  echo '{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"args":["/bin/busybox","true"],"cwd":"/"},"root":{"path":"rootfs"},"linux":{"cgroupsPath":"oci/c","resources":'"$1"',"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"ipc"},{"type":"uts"}]}}' >$bundle/config.json
}
bundle_config '{"cpu":{"quota":50000,"period":500000,"cpus":"0","mems":"0"}}'
run runtime create --bundle $bundle rel
out="$(cat /sys/fs/cgroup/oci/c/cpu.max /sys/fs/cgroup/oci/c/cpuset.cpus 2>&1)"
check "runtime: a relative cgroupsPath, with the config's cpu period and cpuset" \
  '[ $status = 0 ] && [ "$out" = "$(printf "50000 500000\n0")" ]'
run runtime delete --force rel
check "runtime: delete removes the container's cgroup" '[ $status = 0 ] && [ ! -e /sys/fs/cgroup/oci/c ]'
rmdir /sys/fs/cgroup/oci
bundle_config '{"memory":{"swappiness":10}}'
run runtime create --bundle $bundle swap
check "runtime: memory.swappiness, a v1 setting, is refused by name on v2" \
  '[ $status = 1 ] && [ "$err" = "skiff: config.json: linux.resources.memory.swappiness on cgroup v2 (a v1 setting) is not supported by skiff yet" ]'

out=$(find /sys/fs/cgroup/skiff -mindepth 1 -type d)
check "no container cgroup is left under /sys/fs/cgroup/skiff" '[ -z "$out" ]'

# Rootless (issue 17): an ordinary user, uid 1000, given a cgroup v2 subtree as systemd
# delegates user@1000.service (owned by the user, controllers enabled down to it), its
# processes (this script's, from then on) in a leaf of it. Its skiff loads the image into its own store and runs with a
# memory limit in a cgroup under that subtree (--network none: sysfs, and the cgroup
# mount under it, want a network namespace the user namespace owns).
mkdir -p /etc && echo 'u:x:1000:1000::/tmp/u:/bin/sh' >>/etc/passwd
echo 'u:x:1000:' >>/etc/group
mkdir -p /tmp/u && chown 1000:1000 /tmp/u
dir=/sys/fs/cgroup
for level in user.slice user-1000.slice user@1000.service; do
  echo "+cpu +memory +pids" >"$dir/cgroup.subtree_control"
  dir=$dir/$level && mkdir -p "$dir"
done
mkdir "$dir/init.scope" && chown -R 1000:1000 "$dir"
echo $$ >"$dir/init.scope/cgroup.procs" # from here on, so is every process this starts
rootless() { # rootless ARGS...: skiff ARGS... as u, as `run` does it
  status=0
  su -s /bin/sh u -c "unset SKIFF_ROOT; skiff $*" \
    >/tmp/out 2>/tmp/err </dev/null || status=$?
  out=$(cat /tmp/out) err=$(cat /tmp/err)
}
rootless load -q -i /images.tar
check "rootless: an ordinary user loads the image into a store of its own" \
  '[ $status = 0 ] && [ -d /tmp/u/.local/share/skiff ]'
rootless run --rm --pull never --network none -m 64m $img sh -c "'id -u; cat /sys/fs/cgroup/memory.max'"
check "rootless: root inside, limited in a cgroup of the user's delegated subtree" \
  '[ $status = 0 ] && [ "$out" = "$(printf "0\n67108864")" ]'
out=$(find "$dir/skiff" -mindepth 1 -type d)
check "rootless: no container cgroup is left under the user's subtree" '[ -z "$out" ]'

echo "skiff-vm: $passed passed, $failed failed"
poweroff -f
