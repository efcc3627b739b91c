#include "compiler/bitcode_cache.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <set>
#include <string_view>
#include <system_error>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/atomic_file.h"
#include "rexec/build_config.h"

namespace rexec {
namespace {

constexpr char kManifestHeader[] = "rexec-bitcode-manifest-3";
// Entries kept per manifest: one per distinct state of the headers seen recently.
constexpr size_t kMaxEntriesPerManifest = 8;
constexpr uint64_t kMaxFileBytes = 1ull << 30;

struct FileStamp {
  std::string path;
  ContentHash content;
  int64_t size = 0;
  int64_t mtime_ns = 0;
};

// A directory's list of names: a header created in an include directory that is searched
// before the one that matched last time changes it, and must cause a recompile.
struct DirectoryStamp {
  std::string path;
  ContentHash listing;  // see ListingOf
};

struct ManifestEntry {
  ContentHash module;
  // The module's entry points, kept here because finding them in the bitcode takes LLVM, which
  // a warm run must not load (compiler_process.h).
  bool has_main = false;
  std::vector<CommandInfo> commands;
  std::string diagnostics;  // replayed on a hit, as ccache replays a compiler's stderr
  std::vector<FileStamp> files;
  std::vector<DirectoryStamp> directories;
};

std::optional<std::string> ReadFile(const std::filesystem::path& path) {
  return ReadWholeFile(path, kMaxFileBytes);
}

bool WriteAtomically(const std::filesystem::path& path, const std::string& contents) {
  std::error_code error;
  std::filesystem::create_directories(path.parent_path(), error);
  return WriteFileAtomically(path, contents).ok();
}

std::optional<FileStamp> Stamp(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return std::nullopt;
  std::optional<std::string> contents = ReadFile(path);
  if (!contents) return std::nullopt;
  return FileStamp{path, ContentHash::Of(*contents), info.st_size,
                   info.st_mtim.tv_sec * 1'000'000'000LL + info.st_mtim.tv_nsec};
}

// True when the file still has the recorded contents.
bool StillMatches(const FileStamp& recorded) {
  struct stat info;
  if (stat(recorded.path.c_str(), &info) != 0) return false;
  int64_t mtime_ns = info.st_mtim.tv_sec * 1'000'000'000LL + info.st_mtim.tv_nsec;
  if (info.st_size == recorded.size && mtime_ns == recorded.mtime_ns) return true;
  std::optional<std::string> contents = ReadFile(recorded.path);
  return contents && ContentHash::Of(*contents) == recorded.content;
}

// The file names (last path components) of `files`, sorted, without repeats; they view the
// files' paths.
std::vector<std::string_view> FileNames(const std::vector<FileStamp>& files) {
  std::vector<std::string_view> names;
  names.reserve(files.size());
  for (const FileStamp& file : files) {
    std::string_view path = file.path;
    names.push_back(path.substr(path.rfind('/') + 1));  // npos + 1 == 0: the whole path
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

// Which of `watched_names` (sorted, FileNames) the directory holds. Only names the compilation
// read somewhere matter: a new unrelated file (an editor's backup, a build output) must not cost
// a recompile. Every warm lookup lists these directories, hence readdir, not std::filesystem.
std::optional<ContentHash> ListingOf(const std::string& directory,
                                     const std::vector<std::string_view>& watched_names) {
  DIR* listing = opendir(directory.c_str());
  if (listing == nullptr) return std::nullopt;
  std::vector<std::string> names;
  while (const dirent* entry = readdir(listing)) {
    const std::string_view name = entry->d_name;
    if (std::binary_search(watched_names.begin(), watched_names.end(), name)) {
      names.emplace_back(name);
    }
  }
  closedir(listing);
  std::sort(names.begin(), names.end());
  ContentHasher hasher;
  for (const std::string& name : names) hasher.Add(name);
  return hasher.Finish();
}

// "main" or "-", then a name and a descriptor per command: none holds a space or a newline.
std::string EncodeEntryPoints(const ManifestEntry& entry) {
  std::string text = entry.has_main ? "main" : "-";
  for (const CommandInfo& command : entry.commands) {
    absl::StrAppend(&text, "\n", command.name, " ", command.descriptor);
  }
  return text;
}

bool DecodeEntryPoints(const std::string& text, ManifestEntry& entry) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (lines[0] != "main" && lines[0] != "-") return false;
  entry.has_main = lines[0] == "main";
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = absl::StrSplit(lines[i], absl::MaxSplits(' ', 1));
    if (fields.size() != 2) return false;
    entry.commands.push_back({fields[0], fields[1]});
  }
  return true;
}

std::string Serialize(const std::vector<ManifestEntry>& entries) {
  std::string text = absl::StrCat(kManifestHeader, "\n");
  for (const ManifestEntry& entry : entries) {
    absl::StrAppend(&text, "entry ", entry.module.hex(), " ", entry.files.size(), " ",
                    entry.directories.size(), " ",
                    entry.diagnostics.empty() ? "-" : absl::BytesToHexString(entry.diagnostics),
                    " ", absl::BytesToHexString(EncodeEntryPoints(entry)), "\n");
    for (const FileStamp& file : entry.files) {
      absl::StrAppend(&text, file.content.hex(), " ", file.size, " ", file.mtime_ns, " ",
                      file.path, "\n");
    }
    for (const DirectoryStamp& directory : entry.directories) {
      absl::StrAppend(&text, directory.listing.hex(), " ", directory.path, "\n");
    }
  }
  return text;
}

// `text` cut at each `separator`, into at most `max_pieces` (the last keeps the rest); the pieces
// view `text`. Not absl::StrSplit: this Abseil's string_view is not std::string_view, and the
// pieces go on to std::string_view interfaces (ContentHash::FromHex).
std::vector<std::string_view> Split(std::string_view text, char separator,
                                    size_t max_pieces = SIZE_MAX) {
  std::vector<std::string_view> pieces;
  while (pieces.size() + 1 < max_pieces) {
    const size_t end = text.find(separator);
    if (end == std::string_view::npos) break;
    pieces.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  pieces.push_back(text);
  return pieces;
}

template <typename Number>
bool ParseNumber(std::string_view text, Number* number) {
  return absl::SimpleAtoi(absl::string_view(text.data(), text.size()), number);
}

// Any malformed manifest parses as empty: the next store replaces it. Every warm run parses one
// (a line per header read), so the lines are split in place.
std::vector<ManifestEntry> Parse(std::string_view text) {
  std::vector<std::string_view> lines = Split(text, '\n');
  auto line = lines.begin();
  if (line == lines.end() || *line != kManifestHeader) return {};
  auto next_line = [&](std::string_view& into) {
    if (++line == lines.end()) return false;
    into = *line;
    return true;
  };
  std::vector<ManifestEntry> entries;
  std::string_view text_line;
  while (next_line(text_line)) {
    if (text_line.empty() && line + 1 == lines.end()) break;  // the text ends with a newline
    std::vector<std::string_view> head = Split(text_line, ' ');
    size_t count = 0;
    size_t directories = 0;
    std::optional<ContentHash> module =
        head.size() == 6 ? ContentHash::FromHex(head[1]) : std::nullopt;
    if (head[0] != "entry" || !module || !ParseNumber(head[2], &count) ||
        !ParseNumber(head[3], &directories)) {
      return {};
    }
    ManifestEntry entry;
    entry.module = *module;
    entry.diagnostics = head[4] == "-" ? "" : absl::HexStringToBytes(std::string(head[4]));
    if (!DecodeEntryPoints(absl::HexStringToBytes(std::string(head[5])), entry)) return {};
    entry.files.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      if (!next_line(text_line)) return {};
      std::vector<std::string_view> fields = Split(text_line, ' ', 4);
      FileStamp file;
      std::optional<ContentHash> content =
          fields.size() == 4 ? ContentHash::FromHex(fields[0]) : std::nullopt;
      if (!content || !ParseNumber(fields[1], &file.size) ||
          !ParseNumber(fields[2], &file.mtime_ns)) {
        return {};
      }
      file.content = *content;
      file.path = fields[3];
      entry.files.push_back(std::move(file));
    }
    for (size_t i = 0; i < directories; ++i) {
      if (!next_line(text_line)) return {};
      std::vector<std::string_view> fields = Split(text_line, ' ', 2);
      std::optional<ContentHash> listing =
          fields.size() == 2 ? ContentHash::FromHex(fields[0]) : std::nullopt;
      if (!listing) return {};
      entry.directories.push_back({std::string(fields[1]), *listing});
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::string AbsolutePath(const std::string& path) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  return error ? path : absolute.lexically_normal().string();
}

// The directories where a new file could change what an #include finds: the user's include
// directories and those holding the sources and the user's own headers. System directories are
// left out (a new system header is rare, and listing them on every lookup is not): the same
// trade-off ccache's direct mode makes.
std::vector<std::string> WatchedDirectories(const CompileOptions& options,
                                            const std::vector<std::string>& inputs) {
  std::set<std::string> directories;
  for (size_t i = 0; i < options.flags.size(); ++i) {
    const std::string& flag = options.flags[i];
    for (const char* prefix : {"-I", "-iquote", "-isystem"}) {
      std::string_view name(prefix);
      if (flag == name && i + 1 < options.flags.size()) {
        directories.insert(AbsolutePath(options.flags[i + 1]));
      } else if (flag.size() > name.size() && flag.compare(0, name.size(), name) == 0) {
        directories.insert(AbsolutePath(flag.substr(name.size())));
      }
    }
  }
  for (const std::string& input : inputs) {
    std::string absolute = AbsolutePath(input);
    if (absolute.rfind("/usr/", 0) == 0) continue;
    directories.insert(std::filesystem::path(absolute).parent_path().string());
  }
  return {directories.begin(), directories.end()};
}

bool DirectoriesUnchanged(const ManifestEntry& entry) {
  const std::vector<std::string_view> names = FileNames(entry.files);
  for (const DirectoryStamp& directory : entry.directories) {
    std::optional<ContentHash> listing = ListingOf(directory.path, names);
    if (!listing || *listing != directory.listing) return false;
  }
  return true;
}

// The stores still running on their threads. Lookup waits for them, so that a compile's entry
// is found by the next lookup of the same process; and the process waits for them as it exits
// (the destructor of this static), so that no entry is cut short.
class BackgroundStores {
 public:
  static BackgroundStores& Get() {
    static BackgroundStores stores;
    return stores;
  }
  ~BackgroundStores() { WaitForAll(); }

  void Start(std::function<void()> store) {
    std::lock_guard lock(mutex_);
    running_.emplace_back(std::move(store));
  }

  void WaitForAll() {
    std::vector<std::thread> running;
    {
      std::lock_guard lock(mutex_);
      running.swap(running_);
    }
    for (std::thread& store : running) store.join();
  }

 private:
  std::mutex mutex_;
  std::vector<std::thread> running_;
};

}  // namespace

BitcodeCache::BitcodeCache(std::filesystem::path directory) : directory_(std::move(directory)) {}

std::filesystem::path BitcodeCache::DefaultDirectory() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::filesystem::path(xdg) / "rexec" / "bitcode";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".cache" / "rexec" / "bitcode";
  }
  return std::filesystem::temp_directory_path() / "rexec-bitcode";
}

std::optional<ContentHash> BitcodeCache::ManifestKey(const CompileOptions& options) const {
  ContentHasher key;
  key.Add(kManifestHeader).Add(kRexecVersion).Add(kLlvmVersion).Add(kClangExecutable);
  key.Add(kRexecIncludeDir).Add(options.target_triple);
  key.Add(options.color_diagnostics ? "color" : "plain");  // diagnostics are replayed as stored
  key.Add(absl::StrCat(options.flags.size()));
  for (const std::string& flag : options.flags) key.Add(flag);
  for (const std::string& source : options.sources) {
    std::optional<std::string> contents = ReadFile(source);
    if (!contents) return std::nullopt;  // let the compiler report it
    key.Add(AbsolutePath(source)).Add(*contents);
  }
  // Relative include paths (-Iinc) resolve against the working directory.
  std::error_code error;
  key.Add(std::filesystem::current_path(error).string());
  return key.Finish();
}

std::optional<Module> BitcodeCache::Lookup(const CompileOptions& options,
                                           std::string& diagnostics) {
  BackgroundStores::Get().WaitForAll();
  std::optional<ContentHash> key = ManifestKey(options);
  if (!key) return std::nullopt;
  std::optional<std::string> manifest = ReadFile(directory_ / "manifests" / key->hex());
  if (!manifest) return std::nullopt;
  for (const ManifestEntry& entry : Parse(*manifest)) {
    bool matches = true;
    for (const FileStamp& file : entry.files) {
      if (!StillMatches(file)) {
        matches = false;
        break;
      }
    }
    if (!matches || !DirectoriesUnchanged(entry)) continue;
    std::optional<std::string> bitcode = ReadFile(directory_ / "modules" / entry.module.hex());
    if (!bitcode || ContentHash::Of(*bitcode) != entry.module) return std::nullopt;
    diagnostics += entry.diagnostics;
    return Module{std::move(*bitcode), entry.module, entry.commands, entry.has_main};
  }
  return std::nullopt;
}

void BitcodeCache::Store(const CompileOptions& options, const Module& module,
                         const std::string& diagnostics, const std::vector<std::string>& inputs) {
  std::optional<ContentHash> key = ManifestKey(options);
  if (!key) return;
  ManifestEntry entry{module.hash, module.has_main, module.commands, diagnostics, {}, {}};
  for (const std::string& input : inputs) {
    std::optional<FileStamp> stamp = Stamp(AbsolutePath(input));
    if (!stamp) return;  // an input vanished mid-compile: caching could serve stale code
    entry.files.push_back(std::move(*stamp));
  }
  const std::vector<std::string_view> names = FileNames(entry.files);
  for (const std::string& directory : WatchedDirectories(options, inputs)) {
    std::optional<ContentHash> listing = ListingOf(directory, names);
    if (listing) entry.directories.push_back({directory, *listing});
  }
  const std::filesystem::path manifest_path = directory_ / "manifests" / key->hex();
  std::vector<ManifestEntry> entries;
  if (std::optional<std::string> old = ReadFile(manifest_path)) entries = Parse(*old);
  std::erase_if(entries, [&](const ManifestEntry& old) { return old.module == module.hash; });
  entries.insert(entries.begin(), std::move(entry));
  if (entries.size() > kMaxEntriesPerManifest) entries.resize(kMaxEntriesPerManifest);

  if (WriteAtomically(directory_ / "modules" / module.hash.hex(), module.bitcode)) {
    WriteAtomically(manifest_path, Serialize(entries));
  }
}

void BitcodeCache::StoreInBackground(CompileOptions options, Module module, std::string diagnostics,
                                     std::vector<std::string> inputs) const {
  BackgroundStores::Get().Start([cache = *this, options = std::move(options),
                                 module = std::move(module), diagnostics = std::move(diagnostics),
                                 inputs = std::move(inputs)]() mutable {
    cache.Store(options, module, diagnostics, inputs);
  });
}

}  // namespace rexec
