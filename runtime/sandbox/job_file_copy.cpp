#include "runtime/sandbox/job_file_copy.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rexec {
namespace {

constexpr int kMaxDepth = 64;
constexpr size_t kCopyChunk = 64 << 10;

// What an output copy may still use; an input copy is bounded by /work's size instead.
struct Budget {
  bool bounded = false;
  uint64_t bytes = 0;
  uint64_t entries = 0;

  bool exhausted() const { return bounded && (bytes == 0 || entries == 0); }
  bool TakeEntry() {
    if (!bounded) return true;
    if (entries == 0) return false;
    --entries;
    return true;
  }
};

struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

bool IsDotOrDotDot(const char* name) {
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

// Copies the regular file `from` (open) to a new `name` in `to_dir`.
bool CopyRegular(int from, int to_dir, const char* name, mode_t mode, Budget& budget) {
  int to = openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  (mode & 0755) | 0600);
  if (to < 0) return false;
  char buffer[kCopyChunk];
  bool ok = true;
  while (!budget.exhausted()) {
    size_t want = sizeof buffer;
    if (budget.bounded && budget.bytes < want) want = budget.bytes;
    ssize_t got = read(from, buffer, want);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      ok = got == 0;
      break;
    }
    if (budget.bounded) budget.bytes -= got;
    for (ssize_t done = 0; done < got;) {
      ssize_t wrote = write(to, buffer + done, got - done);
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote <= 0) {
        ok = false;
        break;
      }
      done += wrote;
    }
    if (!ok) break;
  }
  const int saved = errno;
  close(to);
  errno = saved;
  return ok;
}

bool CopyEntry(int from_dir, const char* name, int to_dir, Budget& budget, int depth);

// Copies every entry of the directory `from` into the directory `to`.
bool CopyTree(int from, int to, Budget& budget, int depth) {
  if (depth > kMaxDepth) {
    errno = ELOOP;
    return false;
  }
  alignas(LinuxDirent64) char entries[4096];
  while (!budget.exhausted()) {
    long got = syscall(SYS_getdents64, from, entries, sizeof entries);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return false;
    if (got == 0) return true;
    for (long offset = 0; offset < got;) {
      const auto* entry = reinterpret_cast<const LinuxDirent64*>(entries + offset);
      offset += entry->d_reclen;
      if (IsDotOrDotDot(entry->d_name)) continue;
      if (!CopyEntry(from, entry->d_name, to, budget, depth)) return false;
      if (budget.exhausted()) return true;
    }
  }
  return true;
}

// Copies `from` (an open descriptor of a file or directory) to `name` in `to_dir`; anything else
// is skipped.
bool CopyOpened(int from, int to_dir, const char* name, Budget& budget, int depth) {
  struct stat info;
  if (fstat(from, &info) != 0) return false;
  if (S_ISREG(info.st_mode)) {
    if (!budget.TakeEntry()) return true;
    return CopyRegular(from, to_dir, name, info.st_mode, budget);
  }
  if (!S_ISDIR(info.st_mode)) return true;
  if (!budget.TakeEntry()) return true;
  if (mkdirat(to_dir, name, 0755) != 0 && errno != EEXIST) return false;
  int to = openat(to_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (to < 0) return false;
  bool ok = CopyTree(from, to, budget, depth + 1);
  const int saved = errno;
  close(to);
  errno = saved;
  return ok;
}

bool CopyEntry(int from_dir, const char* name, int to_dir, Budget& budget, int depth) {
  // O_NOFOLLOW: a link is not opened (ELOOP) and so skipped; O_NONBLOCK: a FIFO never blocks.
  int from = openat(from_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (from < 0) return errno == ELOOP || errno == ENXIO || errno == EACCES;
  bool ok = CopyOpened(from, to_dir, name, budget, depth);
  const int saved = errno;
  close(from);
  errno = saved;
  return ok;
}

// `path` beneath `work`, following no link at all.
int OpenBeneath(int work, const char* path) {
  open_how how{};
  how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(syscall(SYS_openat2, work, path, &how, sizeof how));
}

// Makes the parent directories of `path` (edited in place, restored) below `out`; returns a
// descriptor of the innermost one and sets `leaf` to the last component.
int MakeParents(int out, char* path, const char*& leaf) {
  int directory = dup(out);
  char* part = path;
  while (directory >= 0) {
    char* slash = strchr(part, '/');
    if (slash == nullptr) break;
    *slash = '\0';
    if (mkdirat(directory, part, 0755) != 0 && errno != EEXIST) {
      *slash = '/';
      close(directory);
      return -1;
    }
    int next = openat(directory, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    *slash = '/';
    close(directory);
    directory = next;
    part = slash + 1;
  }
  leaf = part;
  return directory;
}

bool ParseCount(const char*& cursor, const char* end, uint64_t& value) {
  value = 0;
  const char* start = cursor;
  while (cursor < end && *cursor >= '0' && *cursor <= '9') {
    value = value * 10 + static_cast<uint64_t>(*cursor++ - '0');
  }
  if (cursor == start || cursor == end || *cursor != '\n') return false;
  ++cursor;
  return true;
}

}  // namespace

const char* CopyInputsIn(int staging_fd, int work_fd) {
  int inputs = openat(staging_fd, kStagedInputs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (inputs < 0) return errno == ENOENT ? nullptr : "open the job's input files";
  Budget unbounded;
  bool ok = CopyTree(inputs, work_fd, unbounded, 0);
  const int saved = errno;
  close(inputs);
  errno = saved;
  return ok ? nullptr : "copy the job's input files into /work";
}

void CopyOutputsOut(int staging_fd, int work_fd) {
  int list = openat(staging_fd, kOutputList, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (list < 0) return;
  char text[kMaxOutputListBytes + 1];
  size_t used = 0;
  ssize_t got;
  while (used < sizeof text && ((got = read(list, text + used, sizeof text - used)) > 0 ||
                                (got < 0 && errno == EINTR))) {
    if (got > 0) used += got;
  }
  close(list);
  int out = openat(staging_fd, kStagedOutputs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (out < 0 || used == sizeof text) return;
  const char* cursor = text;
  const char* end = text + used;
  Budget budget;
  budget.bounded = true;
  budget.entries = kMaxOutputEntries + 1;
  if (!ParseCount(cursor, end, budget.bytes)) return;
  ++budget.bytes;
  char path[4096];
  while (cursor < end && !budget.exhausted()) {
    const char* newline = static_cast<const char*>(memchr(cursor, '\n', end - cursor));
    if (newline == nullptr || static_cast<size_t>(newline - cursor) >= sizeof path) break;
    memcpy(path, cursor, newline - cursor);
    path[newline - cursor] = '\0';
    cursor = newline + 1;
    int from = OpenBeneath(work_fd, path);
    if (from < 0) continue;
    const char* leaf = nullptr;
    int parent = MakeParents(out, path, leaf);
    if (parent >= 0) {
      CopyOpened(from, parent, leaf, budget, 0);
      close(parent);
    }
    close(from);
  }
  close(out);
}

}  // namespace rexec
