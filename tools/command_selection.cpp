#include "tools/command_selection.h"

#include "absl/strings/str_cat.h"
#include "client/state_json.h"

namespace rexec {
namespace {

std::string CommandNames(const Module& module) {
  std::string names;
  for (const CommandInfo& command : module.commands) {
    absl::StrAppend(&names, names.empty() ? "" : ", ", command.name);
  }
  return names;
}

absl::StatusOr<StateSchema> SchemaOf(const CommandInfo& command) {
  absl::StatusOr<StateSchema> schema = StateSchema::Parse(command.descriptor);
  if (!schema.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("command ", command.name,
                                                   " has an unreadable descriptor: ",
                                                   std::string(schema.status().message())));
  }
  return schema;
}

}  // namespace

absl::StatusOr<std::string> DescribeEntryPoints(const Module& module) {
  std::string text;
  for (const CommandInfo& command : module.commands) {
    absl::StatusOr<StateSchema> schema = SchemaOf(command);
    if (!schema.ok()) return schema.status();
    absl::StrAppend(&text, command.name, "\n");
    for (const StateSchema::Field& field : schema->fields()) {
      absl::StrAppend(&text, "  ", field.name, ": ", field.type, "\n");
    }
  }
  if (module.has_main) absl::StrAppend(&text, "main() (a plain program)\n");
  if (text.empty()) text = "no commands and no main()\n";
  return text;
}

absl::StatusOr<const CommandInfo*> ChooseCommand(const Module& module,
                                                 const std::string& requested) {
  if (module.commands.empty()) {
    return absl::InvalidArgumentError("the sources define no REXEC_COMMAND classes");
  }
  if (requested.empty()) {
    if (module.commands.size() == 1) return &module.commands.front();
    return absl::InvalidArgumentError(absl::StrCat(
        "the sources define several commands; choose one with --command: ", CommandNames(module)));
  }
  for (const CommandInfo& command : module.commands) {
    if (command.name == requested) return &command;
  }
  return absl::InvalidArgumentError(absl::StrCat("no command named '", requested,
                                                 "'; the sources define: ", CommandNames(module)));
}

absl::StatusOr<std::string> StateFromAssignments(const CommandInfo& command,
                                                 const std::vector<std::string>& assignments) {
  absl::StatusOr<StateSchema> schema = SchemaOf(command);
  if (!schema.ok()) return schema.status();
  return EncodeStateFromAssignments(*schema, assignments);
}

absl::StatusOr<std::string> StateAsJson(const CommandInfo& command, const std::string& state) {
  absl::StatusOr<StateSchema> schema = SchemaOf(command);
  if (!schema.ok()) return schema.status();
  return DecodeStateToJson(*schema, state, 2);
}

}  // namespace rexec
