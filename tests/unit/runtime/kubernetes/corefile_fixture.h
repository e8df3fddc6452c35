// The Corefile kubeadm installs (with a comment holding a brace and quotes, which editing must
// leave alone): shared by the unit tests of the editor and the round trip on a real API server.
#pragma once

namespace berth::kube::fixtures {

inline constexpr const char* kCorefile = R"(.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 # "quoted { in a comment"
    loop
    reload
    loadbalance
}
)";

}  // namespace berth::kube::fixtures
