// The tiny test image: nothing can be pulled from the internet here, so tests build one from
// Debian's busybox-static. Its default command is `httpd -f -p 80 -h /apps` (serves the
// volume); sh, sleep, echo, cat, env ... are there too for `sh -c` commands.
#pragma once

#include <string>

#include "berth/result.h"
#include "support/podman.h"
#include "support/registry.h"

namespace berth::testing {

// Builds `localhost/<name_tag>` (e.g. "berth-test:1") in `podman`'s storage and returns that
// reference; with `push_to`, also pushes it there and returns "<registry>/<name_tag>".
Result<std::string> BuildTestImage(PodmanService& podman, const std::string& name_tag,
                                   Registry* push_to = nullptr);

}  // namespace berth::testing
