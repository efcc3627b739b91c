#include "runtime/service/request_checks.h"

#include <kj/debug.h>

#include <algorithm>
#include <string_view>

#include "core/system_libraries.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/relative_path.h"

namespace rexec {
namespace {

constexpr size_t kMaxArgs = 4096;
constexpr size_t kMaxLibraries = 256;
constexpr size_t kMaxLibraryNameBytes = 255;
constexpr size_t kMaxOutputs = 32;

std::string_view AsStringView(capnp::Data::Reader data) {
  return {reinterpret_cast<const char*>(data.begin()), data.size()};
}

template <typename T>
T Clamp(T requested, T fallback, T maximum) {
  T value = requested == 0 ? fallback : requested;
  if (maximum != 0 && (value == 0 || value > maximum)) value = maximum;
  return value;
}

std::vector<LinkedLibrary> CheckLibraries(capnp::List<wire::Library>::Reader libraries) {
  KJ_REQUIRE(libraries.size() <= kMaxLibraries, "too many libraries", libraries.size());
  std::vector<LinkedLibrary> checked;
  for (wire::Library::Reader library : libraries) {
    KJ_REQUIRE(library.getName().size() <= kMaxLibraryNameBytes, "library name too long");
    LinkedLibrary linked;
    linked.name = library.getName();
    switch (library.which()) {
      case wire::Library::ARCHIVE:
        linked.kind = LinkedLibrary::Kind::kArchive;
        linked.hash = RequireModuleHash(library.getArchive());
        break;
      case wire::Library::OBJECT:
        linked.kind = LinkedLibrary::Kind::kObject;
        linked.hash = RequireModuleHash(library.getObject());
        break;
      case wire::Library::SYSTEM:
        KJ_REQUIRE(IsValidLibraryName(linked.name), "not a library name", linked.name);
        if (IsRuntimeLibraryName(linked.name)) continue;  // every job has these
        linked.kind = LinkedLibrary::Kind::kSystem;
        break;
      default:
        KJ_FAIL_REQUIRE("unknown kind of library: the client speaks a newer protocol");
    }
    checked.push_back(std::move(linked));
  }
  return checked;
}

void RequireJobPath(std::string_view path) {
  absl::Status checked = CheckJobPath(path);
  KJ_REQUIRE(checked.ok(), std::string(checked.message()));
}

// Every directory above `path`: "a/b/c" has "a" and "a/b".
std::vector<std::string_view> Ancestors(std::string_view path) {
  std::vector<std::string_view> ancestors;
  for (size_t slash = path.find('/'); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    ancestors.push_back(path.substr(0, slash));
  }
  return ancestors;
}

JobFileRequest CheckFiles(wire::Job::Reader job, const WorkerOptions& options) {
  JobFileRequest files;
  auto inputs = job.getInputs();
  KJ_REQUIRE(inputs.size() <= kMaxJobInputs, "too many input files", inputs.size(),
             kMaxJobInputs);
  uint64_t total = 0;
  absl::flat_hash_set<std::string_view> paths;
  for (auto input : inputs) {
    std::string_view path(input.getPath().cStr(), input.getPath().size());
    RequireJobPath(path);
    KJ_REQUIRE(paths.insert(path).second, "an input path is given twice", std::string(path));
    KJ_REQUIRE(input.getSize() <= options.max_input_bytes, "an input file is larger than this worker accepts",
               std::string(path), options.max_input_bytes);
    total += input.getSize();
    KJ_REQUIRE(total <= options.max_input_bytes, "the input files are larger in all than this worker accepts",
               options.max_input_bytes);
    std::optional<ContentHash> hash = ContentHash::FromBytes(AsStringView(input.getHash()));
    KJ_REQUIRE(hash.has_value(), "an input file's hash must be 32 bytes", std::string(path));
    files.inputs.push_back({std::string(path), *hash, input.getSize()});
  }
  for (std::string_view path : paths) {
    for (std::string_view ancestor : Ancestors(path)) {
      KJ_REQUIRE(!paths.contains(ancestor), "an input lies below another input that is a file",
                 std::string(path), std::string(ancestor));
    }
  }

  auto outputs = job.getOutputs();
  KJ_REQUIRE(outputs.size() <= kMaxOutputs, "too many output paths", outputs.size(), kMaxOutputs);
  for (capnp::Text::Reader output : outputs) {
    std::string_view path(output.cStr(), output.size());
    RequireJobPath(path);
    for (const std::string& other : files.outputs) {
      KJ_REQUIRE(!JobPathWithin(path, other) && !JobPathWithin(other, path),
                 "output paths overlap", std::string(path), other);
    }
    files.outputs.emplace_back(path);
  }
  files.max_output_bytes = Clamp<uint64_t>(job.getMaxOutputFileBytes(),
                                           options.max_output_file_bytes,
                                           options.max_output_file_bytes);
  return files;
}

}  // namespace

ContentHash RequireModuleHash(capnp::Data::Reader hash) {
  std::optional<ContentHash> parsed = ContentHash::FromBytes(AsStringView(hash));
  KJ_REQUIRE(parsed.has_value(), "a module hash must be 32 bytes", hash.size());
  return *parsed;
}

ContentHash CheckUpload(capnp::Data::Reader hash, capnp::Data::Reader bitcode,
                        uint64_t max_module_bytes) {
  ContentHash claimed = RequireModuleHash(hash);
  KJ_REQUIRE(bitcode.size() <= max_module_bytes, "module larger than this worker accepts",
             bitcode.size(), max_module_bytes);
  ContentHash actual = ContentHash::Of(AsStringView(bitcode));
  KJ_REQUIRE(actual == claimed, "uploaded bitcode does not match its hash", claimed.hex(),
             actual.hex());
  return actual;
}

CheckedJob CheckJob(wire::Job::Reader job, const WorkerOptions& options, bool output_in_result) {
  CheckedJob checked;
  checked.module = RequireModuleHash(job.getModule());
  auto requested = job.getLimits();
  checked.limits = {
      Clamp<uint32_t>(requested.getWallTimeMs(), options.default_wall_time_ms,
                      options.max_wall_time_ms),
      Clamp<uint64_t>(requested.getMemoryBytes(), options.max_memory_bytes,
                      options.max_memory_bytes),
      Clamp<uint64_t>(requested.getOutputBytes(), options.max_output_bytes,
                      options.max_output_bytes)};
  if (output_in_result) {
    // Output that comes back inside the result is bounded by the message size.
    uint64_t& output_bytes = checked.limits.output_bytes;
    output_bytes = output_bytes == 0 ? options.max_buffered_output_bytes
                                     : std::min(output_bytes, options.max_buffered_output_bytes);
  }

  switch (job.getEntry().which()) {
    case wire::Job::Entry::PROGRAM: {
      auto program = job.getEntry().getProgram();
      KJ_REQUIRE(program.getArgs().size() <= kMaxArgs, "too many arguments");
      checked.is_program = true;
      checked.argv.push_back(program.hasName() ? std::string(program.getName().cStr())
                                               : "program");
      for (capnp::Text::Reader arg : program.getArgs()) checked.argv.emplace_back(arg.cStr());
      checked.files = CheckFiles(job, options);
      break;
    }
    case wire::Job::Entry::COMMAND: {
      auto command = job.getEntry().getCommand();
      KJ_REQUIRE(command.getState().size() <= options.max_state_bytes,
                 "command state larger than this worker accepts");
      checked.command_name = command.getName();
      checked.state = std::string(AsStringView(command.getState()));
      checked.files = CheckFiles(job, options);
      break;
    }
    default:
      KJ_FAIL_REQUIRE("unknown job entry: the client speaks a newer protocol");
  }
  checked.libraries = CheckLibraries(job.getLibraries());
  return checked;
}

}  // namespace rexec
