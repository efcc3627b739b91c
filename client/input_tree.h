// The client's side of a job's input files: the tree of files JobFiles::inputs names, each with
// the path it gets in the job's working directory and its content hash.
//
// Every refusal happens here, before anything is sent: a destination that is absolute or has a
// ".." component, a link inside a given directory that points outside it (or to a directory),
// anything that is neither a file nor a directory, two inputs at one path, or one below another
// that is a file. Files are hashed in bounded chunks, never read whole.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rexec/client.h"
#include "rexec/content_hash.h"

namespace rexec {

struct InputTreeFile {
  std::string path;              // in the job's working directory (core/relative_path.h)
  std::filesystem::path source;  // the local file whose contents go there
  ContentHash hash;
  uint64_t size = 0;
};

// InvalidArgument naming the input and what is wrong with it.
absl::StatusOr<std::vector<InputTreeFile>> BuildInputTree(const std::vector<FileInput>& inputs);

// Output paths as JobFiles::outputs gives them, checked like input destinations; a trailing '/'
// and "./" are dropped.
absl::StatusOr<std::vector<std::string>> CheckOutputPaths(const std::vector<std::string>& outputs);

// Writes `files` below `directory`, each only where one of `requested` allows (a worker's answer
// is not trusted either). Returns one line per file that could not be written.
std::vector<std::string> WriteOutputFiles(const std::vector<OutputFile>& files,
                                          const std::vector<std::string>& requested,
                                          const std::filesystem::path& directory);

}  // namespace rexec
