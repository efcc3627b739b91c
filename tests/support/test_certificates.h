// Throwaway TLS material for one test, made by scripts/make_test_certs.sh in a fresh directory
// (a CA, a server certificate for 127.0.0.1, a client certificate, and an unrelated CA with a
// client certificate of its own; the script lists the files). A target using this defines
// REXEC_MAKE_TEST_CERTS, the script's path.
//
//   TestCertificates certs;
//   ASSERT_TRUE(certs.ok()) << certs.output();
//   std::string ca = certs.Path("ca.pem");
#pragma once

#include <stdio.h>

#include <string>
#include <string_view>

#include "tests/support/temp_dir.h"

namespace rexec::testing {

class TestCertificates {
 public:
  TestCertificates() {
    std::string command =
        "'" + std::string(REXEC_MAKE_TEST_CERTS) + "' '" + dir_.path().string() + "' 2>&1";
    FILE* script = popen(command.c_str(), "r");
    if (script == nullptr) {
      output_ = "cannot run " + command;
      return;
    }
    char buffer[4096];
    for (size_t n; (n = fread(buffer, 1, sizeof(buffer), script)) > 0;) output_.append(buffer, n);
    ok_ = pclose(script) == 0;
  }

  bool ok() const { return ok_; }
  const std::string& output() const { return output_; }  // what the script printed
  std::string Path(std::string_view name) const { return (dir_.path() / name).string(); }

 private:
  TempDir dir_;
  bool ok_ = false;
  std::string output_;
};

}  // namespace rexec::testing
