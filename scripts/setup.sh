#!/usr/bin/env bash
# Everything a fresh Debian/Ubuntu machine needs to run the lab and the tests, idempotently:
# Debian's docker.io and debootstrap (restic and rclone for the backup runner's tests, busybox-static for a tiny
# image of their own, prometheus for promtool, btrfs-progs for the btrfs snapshot test), a running dockerd, and a
# Python venv (.venv) from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in docker.io debootstrap rsync openssh-client python3-venv git restic rclone prometheus busybox-static btrfs-progs; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "setup: starting dockerd"
  if [ -d /run/systemd/system ]; then
    systemctl start docker
  else
    # No systemd (CI containers, sandboxes): run the daemon in the background.
    nohup dockerd >/var/log/swarmdata-dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "setup: dockerd did not start; see /var/log/swarmdata-dockerd.log" >&2; exit 1; }
fi

# Debian trixie's restic (0.18) beside bookworm's (0.14): the backup runner uses newer restic's features where they
# are present and must keep the older path; its integration tests run both. Fetched with apt from Debian's archive
# (signatures checked) into .cache, without adding trixie to this machine's sources.
trixie_restic=.cache/restic-trixie/usr/bin/restic
if [ ! -x "$trixie_restic" ]; then
  echo "setup: fetching Debian trixie's restic into .cache/restic-trixie"
  apt_dir=$(mktemp -d)
  mkdir -p "$apt_dir/lists/partial" .cache/restic-trixie
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    > "$apt_dir/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
            -o "Dir::State::Lists=$apt_dir/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
            -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update -qq
  (cd "$apt_dir" && apt-get "${apt_opts[@]}" download -qq restic)
  dpkg-deb -x "$apt_dir"/restic_*.deb .cache/restic-trixie
  rm -rf "$apt_dir"
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$python" -m venv .venv
fi
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$want" ]; then
  echo "setup: installing requirements.txt into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  echo "$want" > .venv/.requirements.sha256
fi
echo "setup: ready (docker $(docker version --format '{{.Server.Version}}'), $(.venv/bin/ansible --version | head -1))"
