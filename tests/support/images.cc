#include "support/images.h"

#include <unistd.h>

#include <filesystem>

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBusybox = "/usr/bin/busybox";
constexpr const char* kApplets[] = {"sh",    "httpd", "sleep", "echo",    "cat",    "ls",
                                    "env",   "true",  "false", "mkdir",   "printf", "wget",
                                    "ps",    "kill",  "id",    "date",    "head",   "tail",
                                    "touch", "rm",    "grep",  "hostname"};

}  // namespace

Result<std::string> BuildTestImage(PodmanService& podman, const std::string& name_tag,
                                   Registry* push_to) {
  if (::access(kBusybox, X_OK) != 0)
    return Fail(ErrorCode::kUnavailable,
                std::string(kBusybox) + " is missing: apt-get install busybox-static");
  std::string safe;
  for (char c : name_tag) safe.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  std::string work = podman.dir() + "/image-" + safe;
  std::string rootfs = work + "/rootfs";
  for (const char* d : {"/bin", "/apps", "/tmp", "/etc"})
    if (auto s = util::MakeDirs(rootfs + d); !s) return Fail(s.error());
  std::error_code ec;
  fs::copy_file(kBusybox, rootfs + "/bin/busybox", fs::copy_options::overwrite_existing, ec);
  if (ec) return Fail(ErrorCode::kInternal, "copying busybox: " + ec.message());
  for (const char* a : kApplets) {
    fs::remove(rootfs + "/bin/" + a, ec);
    fs::create_symlink("busybox", rootfs + "/bin/" + a, ec);
    if (ec) return Fail(ErrorCode::kInternal, std::string("symlink ") + a + ": " + ec.message());
  }
  if (auto s = util::WriteFileAtomic(rootfs + "/etc/passwd", "root:x:0:0:root:/:/bin/sh\n"); !s)
    return Fail(s.error());
  if (auto s = util::WriteFileAtomic(rootfs + "/etc/group", "root:x:0:\n"); !s)
    return Fail(s.error());
  if (auto s = util::WriteFileAtomic(rootfs + "/apps/index.html", "berth test image\n"); !s)
    return Fail(s.error());

  std::string tar = work + "/rootfs.tar";
  auto t = util::RunCommand({"tar", "-C", rootfs, "-cf", tar, "."}, std::chrono::seconds(60));
  if (!t) return Fail(t.error());
  if (t->exit_code != 0) return Fail(ErrorCode::kInternal, "tar: " + t->err);

  std::string local = "localhost/" + name_tag;
  auto imp =
      podman.PodmanOk({"import", "--change", R"(CMD ["/bin/httpd","-f","-p","80","-h","/apps"])",
                       "--change", "ENV PATH=/bin", tar, local});
  if (!imp) return Fail(Wrap(imp.error(), "building the test image"));
  if (!push_to) return local;

  std::string remote = push_to->address() + "/" + name_tag;
  if (auto s = podman.PodmanOk({"tag", local, remote}); !s) return Fail(s.error());
  std::vector<std::string> push{"push", "--tls-verify=false", remote};
  if (!push_to->username().empty())
    push.insert(push.begin() + 1, "--creds=" + push_to->username() + ":" + push_to->password());
  if (auto s = podman.PodmanOk(push); !s) return Fail(Wrap(s.error(), "pushing the test image"));
  return remote;
}

}  // namespace berth::testing
