#!/usr/bin/env bash
# Starts the same loopback control plane as control_plane.cc, for benchmarks and manual use:
#   dir=$(mktemp -d); tests/support/k8s/start.sh "$dir"   # prints the admin kubeconfig path
#   ... KUBECONFIG=$dir/admin.kubeconfig kubectl get nodes ...
#   tests/support/k8s/stop.sh "$dir"
# etcd (Debian's, or $BERTH_ETCD_BIN), kube-apiserver, controller-manager, scheduler, kwok with
# one fake node (InternalIP 127.0.0.1). Logs and pids in the directory.
# Pod logs: kwok's kubelet server (HTTPS, same port as the node's kubeletEndpoint) answers
# every container's log request from DIR/pod-logs/containers.log (CRI format lines,
# "2026-01-02T03:04:05.000000000Z stdout F text"), so `kubectl logs` works; and `kubectl exec`
# (a release's reload command) runs its command on this host in DIR/pod-exec.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.sh"
dir="$(cd "${1:?usage: start.sh DIR}" && pwd)"
bin="${BERTH_K8S_BIN:-${BERTH_CACHE:-$HOME/.cache/berth}/k8s-$K8S_VERSION/bin}"
etcd_bin="${BERTH_ETCD_BIN:-/usr/bin/etcd}"
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
  [ -x "$bin/$b" ] || { echo "start.sh: $bin/$b missing: run tests/support/k8s/ensure.sh" >&2; exit 1; }
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pki="$dir/pki"; mkdir -p "$pki"; chmod 700 "$pki"
ossl() { (cd "$pki" && openssl "$@" >/dev/null 2>&1); }
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
ossl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 3 -subj /CN=berth-test-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n' >"$pki/server.ext"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$pki/client.ext"
ossl req -new "${ec[@]}" -keyout server.key -out server.csr -subj /CN=kube-apiserver
ossl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 3 -extfile server.ext
ossl genrsa -out sa.key 2048
ossl rsa -in sa.key -pubout -out sa.pub
client_cert() {  # name subject
  ossl req -new "${ec[@]}" -keyout "$1.key" -out "$1.csr" -subj "$2"
  ossl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 3 -extfile client.ext
}
client_cert admin "/O=system:masters/CN=admin"
client_cert kcm "/CN=system:kube-controller-manager"
client_cert sched "/CN=system:kube-scheduler"
client_cert kubelet-client "/CN=kube-apiserver-kubelet-client"

eport=$(free_port); pport=$(free_port); aport=$(free_port)
server="https://127.0.0.1:$aport"
kubeconfig() {  # file user cert key
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: berth-test
  cluster: {server: "$server", certificate-authority: "$pki/ca.crt"}
users:
- name: "$2"
  user: {client-certificate: "$3", client-key: "$4"}
contexts:
- name: berth-test
  context: {cluster: berth-test, user: "$2"}
current-context: berth-test
KC
}
kubeconfig "$dir/admin.kubeconfig" admin "$pki/admin.crt" "$pki/admin.key"
kubeconfig "$dir/kcm.kubeconfig" system:kube-controller-manager "$pki/kcm.crt" "$pki/kcm.key"
kubeconfig "$dir/sched.kubeconfig" system:kube-scheduler "$pki/sched.crt" "$pki/sched.key"

launch() {  # name argv...
  local name=$1; shift
  setsid "$@" >"$dir/$name.log" 2>&1 &
  echo $! >>"$dir/pids"
}
: >"$dir/pids"
launch etcd "$etcd_bin" --data-dir "$dir/etcd" --name default \
  --listen-client-urls "http://127.0.0.1:$eport" --advertise-client-urls "http://127.0.0.1:$eport" \
  --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
  --initial-cluster "default=http://127.0.0.1:$pport"
launch kube-apiserver "$bin/kube-apiserver" --etcd-servers="http://127.0.0.1:$eport" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$aport" \
  --tls-cert-file="$pki/server.crt" --tls-private-key-file="$pki/server.key" --client-ca-file="$pki/ca.crt" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range=10.0.0.0/16 --service-node-port-range="${BERTH_K8S_NODE_PORT_RANGE:-30000-32767}" \
  --authorization-mode=RBAC --allow-privileged=true --profiling=false --feature-gates=WatchList=false \
  `# WatchList=false: see control_plane.cc (Debian's etcd 3.4 has no RequestWatchProgress)` \
  --kubelet-client-certificate="$pki/kubelet-client.crt" --kubelet-client-key="$pki/kubelet-client.key" \
  --kubelet-certificate-authority="$pki/ca.crt" --kubelet-preferred-address-types=InternalIP
kc="$dir/admin.kubeconfig"
for _ in $(seq 1 300); do
  [ "$("$bin/kubectl" --kubeconfig "$kc" get --raw /readyz 2>/dev/null)" = ok ] && break; sleep 0.3
done
# BERTH_K8S_CLIENT_QPS=N raises the client rate limits of the controller-manager and the
# scheduler (defaults 20 and 50 QPS), which otherwise cap how many Deployments per second the
# cluster turns into running pods, whoever creates them (bench/k8s reports both settings).
qps=()
if [ -n "${BERTH_K8S_CLIENT_QPS:-}" ]; then
  qps=(--kube-api-qps="$BERTH_K8S_CLIENT_QPS" --kube-api-burst="$((2 * BERTH_K8S_CLIENT_QPS))")
fi
for c in kube-controller-manager:kcm kube-scheduler:sched; do
  name=${c%%:*}; k="$dir/${c##*:}.kubeconfig"
  extra=("${qps[@]}")
  [ "$name" = kube-controller-manager ] && extra+=(--service-account-private-key-file="$pki/sa.key"
    --root-ca-file="$pki/ca.crt" --use-service-account-credentials=true "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller")
  launch "$name" "$bin/$name" --kubeconfig="$k" --authentication-kubeconfig="$k" --authorization-kubeconfig="$k" \
    --bind-address=127.0.0.1 --secure-port="$(free_port)" --leader-elect=false "${extra[@]}"
done
# kwok's kubelet server: the pod log subresource reaches it at the node's InternalIP and
# status.daemonEndpoints.kubeletEndpoint.Port (set from --node-port by the node stages).
mkdir -p "$dir/pod-logs"; : >"$dir/pod-logs/containers.log"
cat >"$dir/kwok-logs.yaml" <<LOGS
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata: {name: berth-test-pod-logs}
spec:
  logs:
  - logsFile: $dir/pod-logs/containers.log
LOGS
# Exec into any pod (kubectl exec, a release's reload command) runs the command on this host
# in $dir/pod-exec, as the test harness's control plane does (ClusterExec, a local target).
mkdir -p "$dir/pod-exec"
cat >"$dir/kwok-exec.yaml" <<EXEC
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata: {name: berth-test-pod-exec}
spec:
  execs:
  - local: {workDir: $dir/pod-exec}
EXEC
# Pods whose first container's image is stuck.invalid/app:1 stay in ContainerCreating for
# ever, as a pod does whose image pull never finishes (a huge image, a registry that hangs):
# kwok pulls nothing, so the upstream pod-ready stage is told to leave them alone and a stage
# of ours gives them the waiting status a kubelet would (bench/scale's stuck environments).
stuck_image="stuck.invalid/app:1"
awk -v img="$stuck_image" '
  { print }
  /^  name: pod-ready$/ { in_ready = 1 }
  in_ready && /^    matchExpressions:$/ {
    print "    - key: \x27.spec.containers.[0].image\x27"
    print "      operator: \x27NotIn\x27"
    print "      values:"
    print "      - \x27" img "\x27"
    in_ready = 0
  }' "$bin/kwok-stages.yaml" >"$dir/kwok-stages.yaml"
grep -q "$stuck_image" "$dir/kwok-stages.yaml" || { echo "start.sh: pod-ready stage not found in $bin/kwok-stages.yaml" >&2; exit 1; }
cat >"$dir/kwok-stuck-pull.yaml" <<STAGE
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: pod-stuck-image-pull}
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: 'DoesNotExist'}
    - {key: '.spec.nodeName', operator: 'Exists'}
    - {key: '.spec.containers.[0].image', operator: 'In', values: ['$stuck_image']}
    - {key: '.status.containerStatuses', operator: 'DoesNotExist'}
  next:
    statusTemplate: |
      hostIP: 127.0.0.1
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        state:
          waiting:
            reason: ContainerCreating
            message: {{ printf "Pulling image %q" .image | Quote }}
      {{ end }}
STAGE
kport=$(free_port)
launch kwok "$bin/kwok" --config="$dir/kwok-stages.yaml" --config="$dir/kwok-stuck-pull.yaml" --config="$dir/kwok-logs.yaml" --config="$dir/kwok-exec.yaml" --kubeconfig="$kc" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake --manage-nodes-with-label-selector= \
  --disregard-status-with-annotation-selector=kwok.x-k8s.io/status=custom --disregard-status-with-label-selector= \
  --cidr=10.244.0.1/16 --node-ip=127.0.0.1 --node-lease-duration-seconds=40 \
  --server-address="127.0.0.1:$kport" --node-port="$kport" \
  --tls-cert-file="$pki/server.crt" --tls-private-key-file="$pki/server.key"
# BERTH_K8S_NODE_PODS=N: room for N pods on the one node (CPU and memory grow with it), for
# benchmarks with thousands of environments; 500 by default.
node_pods="${BERTH_K8S_NODE_PODS:-500}"
node_cpu=$(( node_pods < 500 ? 64 : node_pods )); node_mem_gi=$(( node_pods < 500 ? 512 : node_pods ))
"$bin/kubectl" --kubeconfig "$kc" apply -f - >/dev/null <<NODE
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: kwok-node-0, kubernetes.io/os: linux, type: kwok}
status:
  allocatable: {cpu: "$node_cpu", memory: ${node_mem_gi}Gi, pods: "$node_pods"}
  capacity: {cpu: "$node_cpu", memory: ${node_mem_gi}Gi, pods: "$node_pods"}
  # Both types: kwok's node-initialize stage rewrites (here: empties) the list if one is missing.
  addresses: [{type: InternalIP, address: 127.0.0.1}, {type: Hostname, address: kwok-node-0}]
NODE
"$bin/kubectl" --kubeconfig "$kc" wait --for=condition=Ready node/kwok-node-0 --timeout=180s >/dev/null
for _ in $(seq 1 300); do
  "$bin/kubectl" --kubeconfig "$kc" -n default get serviceaccount default >/dev/null 2>&1 && break; sleep 0.3
done
echo "$kc"
