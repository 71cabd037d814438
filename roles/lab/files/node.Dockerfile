# A lab node: a Debian host in a container, with systemd as PID 1, a Docker
# engine, sshd, python3 and rsync (and GlusterFS installed but not enabled: the
# glusterfs role enables it), Prometheus's node_exporter (its textfile collector
# reads the backup metrics) and rclone (the off-site repository host's server),
# so the collection's roles meet what they meet on a real host. Built FROM a
# local base image: no registry is needed.
ARG BASE_IMAGE=debian:bookworm
FROM ${BASE_IMAGE}
ENV container=docker DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      systemd systemd-sysv dbus docker.io openssh-server openssh-client \
      python3 python3-docker python3-cryptography python3-apt python3-jsondiff python3-yaml \
      rsync inotify-tools glusterfs-server glusterfs-client iproute2 iputils-ping procps ca-certificates sudo less \
      prometheus-node-exporter rclone \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && systemctl mask getty.target console-getty.service systemd-logind.service \
      systemd-remount-fs.service dev-hugepages.mount sys-fs-fuse-connections.mount \
 && systemctl enable docker.service ssh.service prometheus-node-exporter.service \
 && systemctl disable glusterd.service \
 && rm -f /etc/ssh/ssh_host_*_key* /etc/machine-id && touch /etc/machine-id
# sshd host keys are made at first boot, so every node has its own.
RUN printf '[Unit]\nDescription=Generate SSH host keys\nBefore=ssh.service\nConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\n[Service]\nType=oneshot\nExecStart=/usr/bin/ssh-keygen -A\n[Install]\nWantedBy=multi-user.target\n' \
      > /etc/systemd/system/ssh-hostkeys.service \
 && systemctl enable ssh-hostkeys.service
# systemd makes / a shared mount on a real host but not inside a container; do it here, so a disk mounted on
# the node reaches the containers that bind-mount its parent with rslave propagation, as on a real host.
RUN printf '[Unit]\nDescription=Make / a shared mount, as on a real host\nDefaultDependencies=no\nBefore=docker.service local-fs.target\n[Service]\nType=oneshot\nExecStart=/bin/mount --make-rshared /\n[Install]\nWantedBy=local-fs.target\n' \
      > /etc/systemd/system/make-rshared.service \
 && systemctl enable make-rshared.service
STOPSIGNAL SIGRTMIN+3
VOLUME ["/var/lib/docker"]
CMD ["/sbin/init"]
