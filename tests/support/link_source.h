// Compiles one C++ source text and links it in a module template process, for tests of the
// processes that run jobs.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/helper_binary.h"
#include "runtime/jit/module_template.h"
#include "runtime/jit/object_compiler.h"
#include "tests/support/compile_source.h"

namespace rexec::testing {

// Null (with a test failure) when any step fails.
inline std::shared_ptr<const ModuleTemplate> LinkSource(const std::string& source,
                                                        const Sandbox* sandbox = nullptr,
                                                        std::vector<std::string> flags = {"-O1"}) {
  absl::StatusOr<std::unique_ptr<ObjectCompiler>> compiler = ObjectCompiler::ForHost();
  EXPECT_TRUE(compiler.ok()) << compiler.status();
  absl::StatusOr<std::string> binary = FindHelperBinary("rexec-module-template");
  EXPECT_TRUE(binary.ok()) << binary.status();
  if (!compiler.ok() || !binary.ok()) return nullptr;
  Module module = CompileSource(source, std::move(flags));
  absl::StatusOr<std::string> object = (*compiler)->Compile(module.bitcode);
  EXPECT_TRUE(object.ok()) << object.status();
  if (!object.ok()) return nullptr;
  absl::StatusOr<std::shared_ptr<ModuleTemplate>> linked =
      ModuleTemplate::Start({*binary, sandbox}, module.hash, *object);
  EXPECT_TRUE(linked.ok()) << linked.status();
  return linked.ok() ? *std::move(linked) : nullptr;
}

}  // namespace rexec::testing
