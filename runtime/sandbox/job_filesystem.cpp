#include "runtime/sandbox/job_filesystem.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

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

// Text built without allocating (this runs between fork() and the job); silently truncated at
// the buffer's end, which no path or option here comes near.
class FixedText {
 public:
  FixedText& Append(const char* text) {
    while (*text != '\0' && used_ + 1 < sizeof(buffer_)) buffer_[used_++] = *text++;
    buffer_[used_] = '\0';
    return *this;
  }
  FixedText& Append(uint64_t value) {
    char digits[24];
    int count = 0;
    do {
      digits[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (count > 0 && used_ + 1 < sizeof(buffer_)) buffer_[used_++] = digits[--count];
    buffer_[used_] = '\0';
    return *this;
  }
  const char* c_str() const { return buffer_; }

 private:
  char buffer_[256] = {};
  size_t used_ = 0;
};

// A path under the new root.
FixedText RootPath(const char* a, const char* b = nullptr) {
  FixedText path;
  path.Append(kNewRoot).Append("/").Append(a);
  if (b != nullptr) path.Append("/").Append(b);
  return path;
}

// tmpfs mount options: "size=<bytes>,mode=<mode>".
FixedText TmpfsOptions(uint64_t bytes, const char* mode) {
  FixedText options;
  options.Append("size=").Append(bytes).Append(",mode=").Append(mode);
  return options;
}

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

bool MountTmpfs(const char* target, const FixedText& options) {
  return mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0;
}

}  // namespace

const char* BuildSystemView() {
  // Nothing done here may reach the host's mount table.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return "make / private";
  if (!MountTmpfs(kNewRoot, TmpfsOptions(1 << 20, "0755"))) return "mount the new root";
  for (const char* directory : {"usr", "etc", "dev", "proc", "tmp", "work", ".old"}) {
    if (mkdir(RootPath(directory).c_str(), 0755) != 0) return "create a mount point";
  }
  if (!BindMount("/usr", RootPath("usr").c_str(), true)) return "bind /usr";

  for (const char* name : kTopLevelSystemPaths) {
    FixedText host_path;
    host_path.Append("/").Append(name);
    char link_target[256];
    ssize_t length = readlink(host_path.c_str(), link_target, sizeof(link_target) - 1);
    if (length > 0) {  // merged /usr: /lib -> usr/lib
      link_target[length] = '\0';
      if (symlink(link_target, RootPath(name).c_str()) != 0) return "link a system directory";
      continue;
    }
    struct stat info;
    if (stat(host_path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) continue;
    if (mkdir(RootPath(name).c_str(), 0755) != 0 ||
        !BindMount(host_path.c_str(), RootPath(name).c_str(), true)) {
      return "bind a system directory";
    }
  }

  for (const char* name : kEtcFiles) {
    FixedText host_path;
    host_path.Append("/etc/").Append(name);
    if (access(host_path.c_str(), R_OK) != 0) continue;
    FixedText target = RootPath("etc", name);
    if (!MakeEmptyFile(target.c_str()) || !BindMount(host_path.c_str(), target.c_str(), true)) {
      return "bind a file of /etc";
    }
  }

  if (!MountTmpfs(RootPath("dev").c_str(), TmpfsOptions(64 << 10, "0755"))) return "mount /dev";
  for (const char* name : kDevices) {
    FixedText host_path;
    host_path.Append("/dev/").Append(name);
    FixedText target = RootPath("dev", name);
    if (!MakeEmptyFile(target.c_str()) || !BindMount(host_path.c_str(), target.c_str(), false)) {
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
  if (mkdir(RootPath("dev", "shm").c_str(), 01777) != 0) return "create /dev/shm";
  // The kernel lets a user namespace mount a new /proc only where a complete one is already
  // visible; each job mounts its own over this one (MountJobScratch) before any user code runs.
  if (!BindMount("/proc", RootPath("proc").c_str(), false)) return "bind /proc";

  if (syscall(SYS_pivot_root, kNewRoot, RootPath(".old").c_str()) != 0) return "pivot_root";
  if (chdir("/") != 0 || umount2("/.old", MNT_DETACH) != 0 || rmdir("/.old") != 0) {
    return "detach the host's root";
  }
  if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | LockedFlags("/"),
            nullptr) != 0) {
    return "make the root read-only";
  }
  return nullptr;
}

const char* MountJobScratch(const JobFilesystemOptions& options) {
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    return "mount /proc";
  }
  if (!MountTmpfs("/dev/shm", TmpfsOptions(options.scratch_bytes, "1777"))) {
    return "mount /dev/shm";
  }
  if (!MountTmpfs("/tmp", TmpfsOptions(options.scratch_bytes, "1777"))) return "mount /tmp";
  if (!MountTmpfs("/work", TmpfsOptions(options.scratch_bytes, "0755")
                               .Append(",uid=")
                               .Append(options.owner_uid)
                               .Append(",gid=")
                               .Append(options.owner_gid))) {
    return "mount /work";
  }
  if (chdir("/work") != 0) return "enter /work";
  return nullptr;
}

}  // namespace rexec
