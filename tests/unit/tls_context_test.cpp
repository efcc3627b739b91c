#include "core/tls_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_certificates.h"

namespace rexec {
namespace {

using ::rexec::testing::TempDir;
using ::rexec::testing::TestCertificates;
using ::testing::HasSubstr;

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok()) << certs_.output(); }

  TlsOptions Server() const { return {certs_.Path("server.pem"), certs_.Path("server.key"), ""}; }
  TlsOptions ClientTrusting(const std::string& ca_file) const { return {"", "", ca_file}; }

  // Whether a client made from `client` completes a handshake, over an in-memory pipe, with a
  // server made from `server`.
  static bool ClientHandshakes(const TlsOptions& server, const TlsOptions& client) {
    auto io = kj::setupAsyncIo();
    absl::StatusOr<kj::Own<kj::TlsContext>> server_tls = MakeTlsContext(server, TlsSide::kServer);
    absl::StatusOr<kj::Own<kj::TlsContext>> client_tls = MakeTlsContext(client, TlsSide::kClient);
    EXPECT_TRUE(server_tls.ok()) << server_tls.status();
    EXPECT_TRUE(client_tls.ok()) << client_tls.status();
    if (!server_tls.ok() || !client_tls.ok()) return false;
    auto pipe = io.provider->newTwoWayPipe();
    auto accepted = (*server_tls)->wrapServer(kj::mv(pipe.ends[0])).ignoreResult()
                        .catch_([](kj::Exception&&) {}).eagerlyEvaluate(nullptr);
    return (*client_tls)
        ->wrapClient(kj::mv(pipe.ends[1]), "127.0.0.1")
        .then([](kj::Own<kj::AsyncIoStream>) { return true; },
              [](kj::Exception&&) { return false; })
        .wait(io.waitScope);
  }

  static std::string Message(const absl::StatusOr<kj::Own<kj::TlsContext>>& made) {
    EXPECT_EQ(made.status().code(), absl::StatusCode::kInvalidArgument) << made.status();
    return std::string(made.status().message());
  }

  TestCertificates certs_;
};

TEST_F(TlsContextTest, NoOptionsMeanNoTls) {
  absl::StatusOr<kj::Own<kj::TlsContext>> server = MakeTlsContext({}, TlsSide::kServer);
  absl::StatusOr<kj::Own<kj::TlsContext>> client = MakeTlsContext({}, TlsSide::kClient);
  ASSERT_TRUE(server.ok() && client.ok());
  EXPECT_EQ(server->get(), nullptr);
  EXPECT_EQ(client->get(), nullptr);
}

TEST_F(TlsContextTest, ClientTrustingTheCaCompletesTheHandshake) {
  EXPECT_TRUE(ClientHandshakes(Server(), ClientTrusting(certs_.Path("ca.pem"))));
}

TEST_F(TlsContextTest, ClientTrustsOnlyItsCaFile) {
  EXPECT_FALSE(ClientHandshakes(Server(), ClientTrusting(certs_.Path("other-ca.pem"))));
}

TEST_F(TlsContextTest, EveryCertificateOfACaFileIsTrusted) {
  TempDir dir;
  // The server's CA second: kj alone would trust only the first certificate of a file.
  std::string bundle =
      dir.Write("bundle.pem", ReadWholeFile(certs_.Path("other-ca.pem"), 1 << 20).value_or("") +
                                  ReadWholeFile(certs_.Path("ca.pem"), 1 << 20).value_or(""));
  EXPECT_TRUE(ClientHandshakes(Server(), ClientTrusting(bundle)));
}

TEST_F(TlsContextTest, ServerWithAClientCaIsMade) {
  TlsOptions mutual = Server();
  mutual.ca_file = certs_.Path("ca.pem");
  absl::StatusOr<kj::Own<kj::TlsContext>> made = MakeTlsContext(mutual, TlsSide::kServer);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_NE(made->get(), nullptr);
}

TEST_F(TlsContextTest, CertificateAndKeyGoTogether) {
  TlsOptions no_key = Server();
  no_key.key_file.clear();
  EXPECT_THAT(Message(MakeTlsContext(no_key, TlsSide::kServer)), HasSubstr("private key"));
  TlsOptions no_certificate = ClientTrusting(certs_.Path("ca.pem"));
  no_certificate.key_file = certs_.Path("client.key");
  EXPECT_THAT(Message(MakeTlsContext(no_certificate, TlsSide::kClient)),
              HasSubstr("needs its certificate"));
}

TEST_F(TlsContextTest, ClientCaWithoutServerCertificateIsRefused) {
  EXPECT_THAT(Message(MakeTlsContext({"", "", certs_.Path("ca.pem")}, TlsSide::kServer)),
              HasSubstr("client certificates"));
}

TEST_F(TlsContextTest, ClientCertificateWithoutCaIsRefused) {
  EXPECT_THAT(Message(MakeTlsContext({certs_.Path("client.pem"), certs_.Path("client.key"), ""},
                                     TlsSide::kClient)),
              HasSubstr("--tls-ca"));
}

TEST_F(TlsContextTest, UnreadableFileIsNamed) {
  std::string missing = certs_.Path("missing.pem");
  EXPECT_THAT(Message(MakeTlsContext(ClientTrusting(missing), TlsSide::kClient)),
              HasSubstr(missing));
}

TEST_F(TlsContextTest, CaFileWithoutACertificateIsRefused) {
  TempDir dir;
  std::string empty = dir.Write("empty.pem", "not a certificate\n");
  EXPECT_THAT(Message(MakeTlsContext(ClientTrusting(empty), TlsSide::kClient)),
              HasSubstr("holds no PEM certificate"));
}

TEST_F(TlsContextTest, BadKeyIsRefusedNamingTheFile) {
  TempDir dir;
  std::string key = dir.Write(
      "bad.key", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
  TlsOptions bad = Server();
  bad.key_file = key;
  EXPECT_THAT(Message(MakeTlsContext(bad, TlsSide::kServer)), HasSubstr(key));
}

}  // namespace
}  // namespace rexec
