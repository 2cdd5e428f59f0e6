#!/usr/bin/env bash
# Builds the lab's base image: a minimal Debian 12 with cloud-init and OpenSSH, as a qcow2
# holding a bare ext4 file system (no partition table, no boot loader), plus the kernel and
# initrd the lab boots it with directly (libvirt <kernel>/<initrd>). Recipe verified in
# ../shared/LAB-NOTES.md ("Booting a lab VPS"). Production uses Debian's cloud images instead.
#
#   bash scripts/lab-image.sh OUT.qcow2 [MIRROR]
#
# Writes OUT.qcow2 and, beside it, OUT.vmlinuz and OUT.initrd (OUT = the path without .qcow2).
# The caller (lib/lab/image.ts) records what was built in OUT.recipe, to skip a rebuild while
# it matches. Needs root (debootstrap), debootstrap, e2fsprogs, qemu-utils. The mirror
# defaults to the first Debian mirror in the machine's apt sources.
set -euo pipefail

out=${1:?usage: lab-image.sh OUT.qcow2 [MIRROR]}
case "$out" in *.qcow2) ;; *) echo "lab-image: the output must end in .qcow2" >&2; exit 2 ;; esac
stem=${out%.qcow2}
suite=bookworm
packages=linux-image-amd64,systemd-sysv,udev,dbus,cloud-init,openssh-server,ifupdown,iproute2,netbase,sudo,cloud-guest-utils,e2fsprogs,python3-cffi-backend
fs_size=1400M

say() { printf '[image] %s\n' "$*" >&2; }
die() { printf 'lab-image: %s\n' "$*" >&2; exit 1; }
t0=$(date +%s)
lap() { echo "$(( $(date +%s) - t0 )) s"; }

mirror=${2:-}
if [ -z "$mirror" ]; then
  mirror=$(grep -h -E '^\s*(URIs:|deb\s)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
    grep -v -e security -e '\[' | sed -E 's/^\s*URIs:\s*//; s/^\s*deb\s+//' | awk '{print $1}' | head -n 1 || true)
fi
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list*: pass one (e.g. http://deb.debian.org/debian) as the second argument"
[ "$(id -u)" = 0 ] || die "debootstrap needs root: run it as root"
for t in debootstrap mkfs.ext4 qemu-img; do
  command -v "$t" > /dev/null || die "$t is missing: bash scripts/ensure-debs.sh installs it"
done

work=$(mktemp -d /var/tmp/globenet-lab-image.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
root=$work/root

say "debootstrap $suite from $mirror (minbase + kernel, cloud-init, OpenSSH; a few minutes) …"
if ! debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" > "$work/debootstrap.log" 2>&1; then
  tail -n 25 "$work/debootstrap.log" >&2
  die "debootstrap failed (its log above; $root/debootstrap/debootstrap.log has more): check the mirror and the network to it"
fi
say "debootstrap done ($(lap))"

# What debootstrap copies from this machine must not reach every guest.
: > "$root/etc/machine-id"
rm -f -- "$root/var/lib/dbus/machine-id" "$root"/etc/ssh/ssh_host_*
echo localhost > "$root/etc/hostname"
rm -f -- "$root/etc/resolv.conf"
printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' > "$root/etc/fstab"
cat > "$root/etc/cloud/cloud.cfg.d/90-globenet-lab.cfg" <<'EOF'
# globenet-infra lab image: the seed ISO (NoCloud) is the only source (no None fallback:
# without a seed there is nothing to configure).
datasource_list: [NoCloud]
# en_US is not generated in this minimal image.
locale: C.UTF-8
manage_etc_hosts: true
EOF
cat > "$root/etc/cloud/cloud.cfg.d/91-globenet-lab-boot.cfg" <<'EOF'
# No boot loader in this image (the lab boots its kernel directly): nothing for grub-dpkg to do.
grub_dpkg:
  enabled: false
EOF
# What the guest's boot does not need (docs/architecture.md, "Time to service"). An initramfs
# that only mounts the root (the virtio disk, ext4) instead of the default MODULES=most, every
# storage and file system driver (36 MB, about 9 s to systemd under TCG); MODULES=dep would
# list this build machine's modules, not the guest's.
printf 'MODULES=list\n' > "$root/etc/initramfs-tools/conf.d/90-globenet-lab.conf"
printf 'virtio_pci\nvirtio_blk\next4\n' >> "$root/etc/initramfs-tools/modules"
if ! chroot "$root" update-initramfs -u -k all > "$work/initramfs.log" 2>&1; then
  tail -n 25 "$work/initramfs.log" >&2
  die "update-initramfs failed in the image (its log above)"
fi
# Units with nothing to do in a lab guest: e2scrub checks ext4 on LVM snapshots (no LVM here),
# tty1 is a screen the domain does not have (its console is the serial one, kept).
systemctl --root="$root" mask e2scrub_reap.service e2scrub_all.timer getty@tty1.service > /dev/null 2>&1 ||
  die "systemctl --root mask failed in the image"
# Modules udev would load for devices of QEMU's "max" CPU model that a lab guest cannot use:
# nested KVM under software emulation, the PC speaker.
printf 'blacklist kvm_amd\nblacklist kvm_intel\nblacklist pcspkr\n' > "$root/etc/modprobe.d/90-globenet-lab.conf"
# Here rather than ssh_pwauth in user-data, which restarts sshd during the first boot.
mkdir -p "$root/etc/ssh/sshd_config.d"
printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\n' > "$root/etc/ssh/sshd_config.d/90-globenet.conf"
apt_clean() { rm -rf -- "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*; }
apt_clean

kernel=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' 2> /dev/null | sort -V | tail -n 1)
initrd=$(find "$root/boot" -maxdepth 1 -name 'initrd.img-*' 2> /dev/null | sort -V | tail -n 1)
{ [ -n "$kernel" ] && [ -n "$initrd" ]; } || die "no kernel or initrd in $root/boot: linux-image-amd64 did not install"

say "ext4 file system ($fs_size, mkfs.ext4 -d: no loop device) and qcow2 …"
mkfs.ext4 -q -F -L root -d "$root" "$work/root.raw" "$fs_size" > /dev/null
mkdir -p -- "$(dirname -- "$out")"
qemu-img convert -f raw -O qcow2 "$work/root.raw" "$out.partial"
cp -- "$kernel" "$stem.vmlinuz.partial"
cp -- "$initrd" "$stem.initrd.partial"
chmod 0644 -- "$out.partial" "$stem.vmlinuz.partial" "$stem.initrd.partial"
mv -f -- "$stem.vmlinuz.partial" "$stem.vmlinuz"
mv -f -- "$stem.initrd.partial" "$stem.initrd"
mv -f -- "$out.partial" "$out"
rm -f -- "$out.placeholder"
say "built $out ($(du -h -- "$out" | cut -f1)), kernel $(basename -- "$kernel"), in $(lap)"
