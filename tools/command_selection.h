// What rexec-send does with the command classes of a module: list them, pick the one to run,
// and turn --set assignments into its state and its returned state into JSON.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rexec/module.h"

namespace rexec {

// One block per command: its name, then "  field: type" lines. Notes a main() too.
absl::StatusOr<std::string> DescribeEntryPoints(const Module& module);

// `requested` if the module has it; with none requested, the module's only command. Otherwise
// an error that lists the commands there are.
absl::StatusOr<const CommandInfo*> ChooseCommand(const Module& module,
                                                 const std::string& requested);

// The state to send: the fields named in `assignments` ("name=JSON value"), the rest default.
absl::StatusOr<std::string> StateFromAssignments(const CommandInfo& command,
                                                 const std::vector<std::string>& assignments);

// A returned state as a JSON object, indented by 2.
absl::StatusOr<std::string> StateAsJson(const CommandInfo& command, const std::string& state);

}  // namespace rexec
