# The wrapper-module setup shared by kubernetes.sh and kubectl.sh. Sourced after _golib.sh and
# golib_start, never run; not a component itself.
#
# Route: a throwaway wrapper module that requires k8s.io/kubernetes v1.X.Y and replaces every
# k8s.io/* staging module it requires (k8s.io/kubernetes's own go.mod points them at
# ./staging/src/..., which a dependency cannot use) with the published v0.X.Y of the same patch.
# Both builds resolve the same module set, so the second one finds every zip in the shared module
# cache and most packages in the shared build cache.

# kubemod_setup <wrapper module name>: write go.mod into the current directory; sets V, major,
# minor, patch, staging_version and KUBE_LDFLAGS (the version stamps an upstream build sets).
kubemod_setup() {
  : "${KUBERNETES_VERSION:?set in tools/versions.env}"
  V="$KUBERNETES_VERSION"
  major="${V%%.*}"; local rest="${V#*.}"; minor="${rest%%.*}"; patch="${rest#*.}"
  staging_version="v0.$minor.$patch"
  golib_probe k8s.io/kubernetes "v$V"
  golib_probe k8s.io/api "$staging_version"
  local gomod="$WORK/kubernetes.go.mod"
  golib_gomod k8s.io/kubernetes "v$V" "$gomod"
  # Copy the go / godebug lines so the binaries get the same GODEBUG defaults as an upstream build.
  {
    echo "module $1"; echo
    grep -E '^(go|godebug) ' "$gomod"; echo
    echo "require k8s.io/kubernetes v$V"
  } > go.mod
  # Staging modules: the `k8s.io/x => ./staging/src/k8s.io/x` replaces that are also required.
  local required m n=0
  required=$(awk '/^require \(/{r=1;next} r&&/^\)/{r=0} r{print $1}' "$gomod" | sort -u)
  for m in $(grep -E '=> \./staging/src/' "$gomod" | awk '{print $1}'); do
    if grep -qxF "$m" <<<"$required"; then
      go mod edit -replace="$m=$m@$staging_version"
      n=$((n + 1))
    fi
  done
  golib_step "replaced $n staging modules with $staging_version"
  KUBE_LDFLAGS="-s -w"
  local pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    KUBE_LDFLAGS+=" -X $pkg.gitVersion=v$V -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    KUBE_LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
}
