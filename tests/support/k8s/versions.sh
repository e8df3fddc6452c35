# Pinned upstream versions for the Kubernetes test control plane.
# Sourced by build.sh / ensure.sh; keep in sync with wrapper/go.mod.
K8S_VERSION=v1.36.1
K8S_STAGING_VERSION=v0.36.1
KWOK_VERSION=v0.8.0
ETCD_VERSION=v3.6.8
HELM_VERSION=v3.22.0
