#include "runtime/sandbox/job_filesystem.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>

namespace rexec {
namespace {

// Where the new root is assembled, inside the job's private mount namespace (the host's /tmp
// is untouched: the mount is invisible outside).
constexpr char kNewRoot[] = "/tmp";

constexpr const char* kTopLevelSystemPaths[] = {"bin", "lib", "lib32", "lib64", "libx32", "sbin"};
constexpr const char* kEtcFiles[] = {"ld.so.cache", "passwd",    "group",
                                     "nsswitch.conf", "hosts", "localtime"};
constexpr const char* kDevices[] = {"null", "zero", "full", "random", "urandom"};

// A path under the new root, without allocating.
class RootPath {
 public:
  RootPath(const char* a, const char* b = nullptr) {
    Append(kNewRoot);
    Append("/");
    Append(a);
    if (b != nullptr) {
      Append("/");
      Append(b);
    }
  }
  const char* c_str() const { return buffer_; }

 private:
  void Append(const char* text) {
    size_t length = strnlen(text, sizeof(buffer_));
    if (used_ + length >= sizeof(buffer_)) length = sizeof(buffer_) - used_ - 1;
    memcpy(buffer_ + used_, text, length);
    used_ += length;
    buffer_[used_] = '\0';
  }
  char buffer_[256] = {};
  size_t used_ = 0;
};

// The flags a remount must keep: inside a user namespace, a mount's nosuid, nodev, noexec and
// atime settings are locked, and a remount that would drop them is refused.
unsigned long LockedFlags(const char* path) {
  struct statvfs info;
  if (statvfs(path, &info) != 0) return 0;
  unsigned long flags = 0;
  if (info.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (info.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (info.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (info.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (info.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

bool BindMount(const char* source, const char* target, bool read_only) {
  if (mount(source, target, nullptr, MS_BIND | MS_REC, nullptr) != 0) return false;
  if (!read_only) return true;
  return mount(nullptr, target, nullptr,
               MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | LockedFlags(target), nullptr) == 0;
}

bool MakeEmptyFile(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return false;
  close(fd);
  return true;
}

// "size=<bytes>,mode=<mode>[,uid=..,gid=..]" without snprintf.
class TmpfsOptions {
 public:
  TmpfsOptions(uint64_t bytes, const char* mode) {
    Append("size=");
    AppendNumber(bytes);
    Append(",mode=");
    Append(mode);
  }
  TmpfsOptions& Owner(uid_t uid, gid_t gid) {
    Append(",uid=");
    AppendNumber(uid);
    Append(",gid=");
    AppendNumber(gid);
    return *this;
  }
  const char* c_str() const { return buffer_; }

 private:
  void Append(const char* text) {
    while (*text != '\0' && used_ + 1 < sizeof(buffer_)) buffer_[used_++] = *text++;
    buffer_[used_] = '\0';
  }
  void AppendNumber(uint64_t value) {
    char digits[24];
    int count = 0;
    do {
      digits[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (count > 0 && used_ + 1 < sizeof(buffer_)) buffer_[used_++] = digits[--count];
    buffer_[used_] = '\0';
  }
  char buffer_[128] = {};
  size_t used_ = 0;
};

bool MountTmpfs(const char* target, const TmpfsOptions& options) {
  return mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0;
}

}  // namespace

const char* EnterJobFilesystem(const JobFilesystemOptions& options) {
  // Nothing done here may reach the host's mount table.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return "make / private";
  if (!MountTmpfs(kNewRoot, TmpfsOptions(1 << 20, "0755"))) return "mount the new root";
  for (const char* directory : {"usr", "etc", "dev", "proc", "tmp", "work", ".old"}) {
    if (mkdir(RootPath(directory).c_str(), 0755) != 0) return "create a mount point";
  }
  if (!BindMount("/usr", RootPath("usr").c_str(), true)) return "bind /usr";

  for (const char* name : kTopLevelSystemPaths) {
    char host_path[64] = "/";
    strncat(host_path, name, sizeof(host_path) - 2);
    char link_target[256];
    ssize_t length = readlink(host_path, link_target, sizeof(link_target) - 1);
    if (length > 0) {  // merged /usr: /lib -> usr/lib
      link_target[length] = '\0';
      if (symlink(link_target, RootPath(name).c_str()) != 0) return "link a system directory";
      continue;
    }
    struct stat info;
    if (stat(host_path, &info) != 0 || !S_ISDIR(info.st_mode)) continue;
    if (mkdir(RootPath(name).c_str(), 0755) != 0 ||
        !BindMount(host_path, RootPath(name).c_str(), true)) {
      return "bind a system directory";
    }
  }

  for (const char* name : kEtcFiles) {
    char host_path[64] = "/etc/";
    strncat(host_path, name, sizeof(host_path) - 6);
    if (access(host_path, R_OK) != 0) continue;
    RootPath target("etc", name);
    if (!MakeEmptyFile(target.c_str()) || !BindMount(host_path, target.c_str(), true)) {
      return "bind a file of /etc";
    }
  }

  if (!MountTmpfs(RootPath("dev").c_str(), TmpfsOptions(64 << 10, "0755"))) return "mount /dev";
  for (const char* name : kDevices) {
    char host_path[32] = "/dev/";
    strncat(host_path, name, sizeof(host_path) - 6);
    RootPath target("dev", name);
    if (!MakeEmptyFile(target.c_str()) || !BindMount(host_path, target.c_str(), false)) {
      return "bind a device";
    }
  }
  const char* const links[][2] = {{"/proc/self/fd", "fd"},
                                  {"/proc/self/fd/0", "stdin"},
                                  {"/proc/self/fd/1", "stdout"},
                                  {"/proc/self/fd/2", "stderr"}};
  for (const auto& link : links) {
    if (symlink(link[0], RootPath("dev", link[1]).c_str()) != 0) return "link in /dev";
  }
  if (mkdir(RootPath("dev", "shm").c_str(), 01777) != 0 ||
      !MountTmpfs(RootPath("dev", "shm").c_str(), TmpfsOptions(options.scratch_bytes, "1777"))) {
    return "mount /dev/shm";
  }

  if (mount("proc", RootPath("proc").c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            nullptr) != 0) {
    return "mount /proc";
  }
  if (!MountTmpfs(RootPath("tmp").c_str(), TmpfsOptions(options.scratch_bytes, "1777"))) {
    return "mount /tmp";
  }
  if (!MountTmpfs(RootPath("work").c_str(), TmpfsOptions(options.scratch_bytes, "0755")
                                                .Owner(options.owner_uid, options.owner_gid))) {
    return "mount /work";
  }

  if (syscall(SYS_pivot_root, kNewRoot, RootPath(".old").c_str()) != 0) return "pivot_root";
  if (chdir("/") != 0 || umount2("/.old", MNT_DETACH) != 0 || rmdir("/.old") != 0) {
    return "detach the host's root";
  }
  if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | LockedFlags("/"),
            nullptr) != 0) {
    return "make the root read-only";
  }
  if (chdir("/work") != 0) return "enter /work";
  return nullptr;
}

}  // namespace rexec
