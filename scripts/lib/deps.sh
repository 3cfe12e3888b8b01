# Shared by the installers in scripts/deps/ and scripts/bench-deps/ (sourced,
# not run): apt and npm the same way everywhere, quiet and quick when what
# is asked is present. Debian 12, as root or with sudo.

sudo=""
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
export DEBIAN_FRONTEND=noninteractive

# apt_missing PKG... prints the packages dpkg does not have.
apt_missing() {
  local p missing=""
  for p in "$@"; do
    dpkg -s "${p%%=*}" >/dev/null 2>&1 || missing="$missing $p"
  done
  echo "$missing"
}

# apt_install NAME PKG... installs the packages (PKG or PKG=VERSION),
# saying so as NAME.
apt_install() {
  local name=$1
  shift
  echo "$name: apt-get install $*"
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}

# apt_install_no_start NAME PKG... is apt_install for packages that ship a
# service (caddy, nginx): nothing is started while they install, the
# tests start their own.
apt_install_no_start() {
  local policy=/usr/sbin/policy-rc.d made=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    made=1
  fi
  local rc=0
  apt_install "$@" || rc=$?
  if [ -n "$made" ]; then $sudo rm -f "$policy"; fi
  return $rc
}

# node_packages_needed prints nodejs and npm when they are not installed.
node_packages_needed() {
  command -v node >/dev/null 2>&1 || echo -n " nodejs"
  command -v npm >/dev/null 2>&1 || echo -n " npm"
}

# npm_ci_locked NAME DIR FILE runs npm ci in DIR exactly as its
# package-lock.json pins, again whenever the lock file changes or
# node_modules/FILE is gone.
npm_ci_locked() {
  local name=$1 dir=$2 file=$3
  local stamp="$dir/node_modules/.jevents-lock.sha256" want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -f "$dir/node_modules/$file" ]; then
    echo "$name: npm ci in ${dir#"$here"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
  fi
}
