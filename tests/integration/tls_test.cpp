// TLS and tokens on a real rexec-worker: rexec-send, rexec-stats and the C++ API over TLS on
// 127.0.0.1, with certificates made by scripts/make_test_certs.sh; every refusal a clear error
// on the client (exit 255) while the worker serves on. The queue and the metrics listener beside
// a TLS listener stay as they are.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "rexec/client.h"
#include "rexec/worker.h"
#include "tests/integration/loopback.h"
#include "tests/integration/redis_server.h"
#include "tests/integration/send_command.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/worker_process.h"
#include "tests/programs/commands/sample_commands.h"
#include "tests/support/test_certificates.h"

namespace rexec::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kExitUnreachable = 255;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok()) << certs_.output(); }

  std::vector<std::string> ServerFlags() const {
    return {"--tls-cert", certs_.Path("server.pem"), "--tls-key", certs_.Path("server.key")};
  }
  std::vector<std::string> MutualServerFlags() const {
    std::vector<std::string> flags = ServerFlags();
    flags.insert(flags.end(), {"--tls-client-ca", certs_.Path("ca.pem")});
    return flags;
  }
  std::vector<std::string> ClientCertificateFlags(const std::string& name) const {
    return {"--tls-cert", certs_.Path(name + ".pem"), "--tls-key", certs_.Path(name + ".key")};
  }

  // rexec-send --worker WORKER flags... hello.cpp
  static ProcessResult SendHello(const WorkerProcess& worker, std::vector<std::string> flags) {
    flags.insert(flags.begin(), {"--worker", worker.address()});
    flags.push_back(ProgramPath("hello.cpp"));
    return RunSend(flags);
  }
  ProcessResult SendHelloTrustingCa(const WorkerProcess& worker,
                                    std::vector<std::string> flags = {}) const {
    flags.insert(flags.begin(), {"--tls-ca", certs_.Path("ca.pem")});
    return SendHello(worker, flags);
  }

  // The check after a refusal: a client that does everything right is served.
  void ExpectServedOverTls(const WorkerProcess& worker, std::vector<std::string> flags = {}) const {
    ProcessResult hello = SendHelloTrustingCa(worker, flags);
    EXPECT_EQ(hello.exit_code, 0) << "the worker no longer serves: " << hello << worker.log();
    EXPECT_EQ(hello.stdout_text, "hello from rexec\n") << hello;
  }

  TestCertificates certs_;
};

TEST_F(TlsTest, AJobRunsAndPrintsOverTls) {
  WorkerProcess worker(ServerFlags());
  ASSERT_TRUE(worker.started()) << worker.log();
  EXPECT_THAT(worker.log(), HasSubstr("rexec-worker protection: TLS, no client check (loopback only)\n"));
  ExpectServedOverTls(worker);
}

TEST_F(TlsTest, AClientTrustingAnotherCaIsRefusedAndTheWorkerServesOn) {
  WorkerProcess worker(ServerFlags());
  ASSERT_TRUE(worker.started()) << worker.log();
  ProcessResult result = SendHello(worker, {"--tls-ca", certs_.Path("other-ca.pem")});
  EXPECT_EQ(result.exit_code, kExitUnreachable) << result;
  EXPECT_THAT(result.stderr_text,
              AllOf(HasSubstr("TLS handshake failed"), HasSubstr("certificate is not trusted")))
      << result;
  EXPECT_EQ(result.stdout_text, "");
  ExpectServedOverTls(worker);
}

TEST_F(TlsTest, APlainClientIsToldTheWorkerRequiresTls) {
  WorkerProcess worker(ServerFlags());
  ASSERT_TRUE(worker.started()) << worker.log();
  ProcessResult result = SendHello(worker, {});
  EXPECT_EQ(result.exit_code, kExitUnreachable) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("this worker requires TLS")) << result;
  EXPECT_THAT(worker.log(), HasSubstr("TLS handshake failed")) << worker.log();
  ExpectServedOverTls(worker);
}

TEST_F(TlsTest, SilentAndGarbageConnectionsHoldUpNoOne) {
  WorkerProcess worker(ServerFlags());
  ASSERT_TRUE(worker.started()) << worker.log();
  int silent = ConnectLoopback(worker.port());
  int garbage = ConnectLoopback(worker.port());
  ASSERT_GE(silent, 0);
  ASSERT_GE(garbage, 0);
  EXPECT_TRUE(SendAll(garbage, std::string(100'000, '\x16')));
  // One mid-handshake, the other refused and still open: the next client is served all the same.
  ExpectServedOverTls(worker);
  close(silent);
  CloseWithReset(garbage);
  ExpectServedOverTls(worker);
}

TEST_F(TlsTest, ATlsClientToAPlainWorkerFailsClearly) {
  WorkerProcess worker;
  ASSERT_TRUE(worker.started()) << worker.log();
  ProcessResult result = SendHelloTrustingCa(worker);
  EXPECT_EQ(result.exit_code, kExitUnreachable) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("TLS handshake failed")) << result;
  ProcessResult plain = SendHello(worker, {});
  EXPECT_EQ(plain.exit_code, 0) << plain << worker.log();
}

TEST_F(TlsTest, MutualTlsRefusesAClientWithoutACertificate) {
  WorkerProcess worker(MutualServerFlags());
  ASSERT_TRUE(worker.started()) << worker.log();
  EXPECT_THAT(worker.log(), HasSubstr("rexec-worker protection: TLS, client certificate required\n"));
  ProcessResult result = SendHelloTrustingCa(worker);
  EXPECT_EQ(result.exit_code, kExitUnreachable) << result;
  EXPECT_THAT(result.stderr_text, AllOf(HasSubstr("TLS"), HasSubstr("client certificate")))
      << result;
  ExpectServedOverTls(worker, ClientCertificateFlags("client"));
}

TEST_F(TlsTest, MutualTlsRefusesACertificateAnotherCaSigned) {
  WorkerProcess worker(MutualServerFlags());
  ASSERT_TRUE(worker.started()) << worker.log();
  ProcessResult result = SendHelloTrustingCa(worker, ClientCertificateFlags("other-client"));
  EXPECT_EQ(result.exit_code, kExitUnreachable) << result;
  EXPECT_THAT(result.stderr_text, AllOf(HasSubstr("TLS"), HasSubstr("client certificate")))
      << result;
  ExpectServedOverTls(worker, ClientCertificateFlags("client"));
}

TEST_F(TlsTest, MutualTlsServesAClientWhoseCertificateTheClientCaSigned) {
  WorkerProcess worker(MutualServerFlags());
  ASSERT_TRUE(worker.started()) << worker.log();
  ExpectServedOverTls(worker, ClientCertificateFlags("client"));
  ProcessResult command = RunSend(
      {"--worker", worker.address(), "--tls-ca", certs_.Path("ca.pem"), "--tls-cert",
       certs_.Path("client.pem"), "--tls-key", certs_.Path("client.key"),
       ProgramPath("commands/sample_commands.cpp"), "--command", "Square", "--set", "value=9",
       "--print-state"});
  EXPECT_EQ(command.exit_code, 0) << command;
  EXPECT_THAT(command.stdout_text, HasSubstr("81")) << command;
}

TEST_F(TlsTest, AWrongOrMissingTokenIsRefusedClearlyAndNoTokenIsLogged) {
  TempDir dir;
  const std::string token = "token-b6f1c0de-rexec-test";
  const std::string wrong = "token-0badc0de-rexec-test";
  std::vector<std::string> flags = ServerFlags();
  flags.insert(flags.end(), {"--token-file", dir.Write("token", token + "\n"), "--verbose"});
  WorkerProcess worker(flags);
  ASSERT_TRUE(worker.started()) << worker.log();
  EXPECT_THAT(worker.log(), HasSubstr("rexec-worker protection: TLS, token required\n"));

  ProcessResult missing = SendHelloTrustingCa(worker);
  EXPECT_EQ(missing.exit_code, kExitUnreachable) << missing;
  EXPECT_THAT(missing.stderr_text, HasSubstr("this worker requires a token")) << missing;
  ProcessResult refused =
      SendHelloTrustingCa(worker, {"--token-file", dir.Write("wrong", wrong)});
  EXPECT_EQ(refused.exit_code, kExitUnreachable) << refused;
  EXPECT_THAT(refused.stderr_text, HasSubstr("this worker refused the token presented"))
      << refused;
  EXPECT_THAT(refused.stderr_text, Not(HasSubstr(wrong)));
  ExpectServedOverTls(worker, {"--token-file", (dir.path() / "token").string()});

  std::string log = worker.log();
  EXPECT_THAT(log, Not(HasSubstr(token))) << log;
  EXPECT_THAT(log, Not(HasSubstr(wrong))) << log;
}

TEST_F(TlsTest, BeyondLoopbackTlsAloneIsNotEnough) {
  // Refused before anything is bound: TLS without client certificates lets anyone in.
  std::vector<std::string> command = {WorkerBinary(), "--listen", "0.0.0.0:0", "--no-disk-cache"};
  std::vector<std::string> flags = ServerFlags();
  command.insert(command.end(), flags.begin(), flags.end());
  ProcessOptions options;
  options.timeout = milliseconds(20'000);
  ProcessResult result = RunProcess(command, options);
  EXPECT_EQ(result.exit_code, 1) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("without a token or client certificates")) << result;
}

TEST_F(TlsTest, IncompleteTlsOptionsAreClearErrors) {
  ProcessOptions options;
  options.timeout = milliseconds(20'000);
  ProcessResult worker = RunProcess(
      {WorkerBinary(), "--listen", "127.0.0.1:0", "--no-disk-cache", "--tls-cert",
       certs_.Path("server.pem")},
      options);
  EXPECT_EQ(worker.exit_code, 1) << worker;
  EXPECT_THAT(worker.stderr_text, HasSubstr("--tls-key")) << worker;

  ProcessResult embedded = RunSend({"--tls-ca", certs_.Path("ca.pem"), ProgramPath("hello.cpp")});
  EXPECT_EQ(embedded.exit_code, 125) << embedded;
  EXPECT_THAT(embedded.stderr_text, HasSubstr("apply to a --worker connection only")) << embedded;
}

TEST_F(TlsTest, StatsConnectOverTls) {
  WorkerProcess worker(MutualServerFlags());
  ASSERT_TRUE(worker.started()) << worker.log();
  ExpectServedOverTls(worker, ClientCertificateFlags("client"));
  std::vector<std::string> command = {StatsBinary(), "--tls-ca", certs_.Path("ca.pem")};
  std::vector<std::string> certificate = ClientCertificateFlags("client");
  command.insert(command.end(), certificate.begin(), certificate.end());
  command.push_back(worker.address());
  ProcessResult stats = RunProcess(command, SendOptions());
  EXPECT_EQ(stats.exit_code, 0) << stats;
  EXPECT_THAT(stats.stdout_text, HasSubstr("jobs_run: 1\n")) << stats;
}

TEST_F(TlsTest, TheMetricsListenerStaysPlainHttp) {
  std::vector<std::string> flags = ServerFlags();
  flags.insert(flags.end(), {"--metrics", "127.0.0.1:0"});
  WorkerProcess worker(flags);
  ASSERT_TRUE(worker.started()) << worker.log();
  ASSERT_NE(worker.metrics_port(), 0) << worker.log();
  ExpectServedOverTls(worker);
  std::string page = HttpGet(worker.metrics_port(), "/metrics");
  EXPECT_THAT(page, HasSubstr("rexec_jobs_total{outcome=\"exited\"} 1\n")) << page;
}

TEST_F(TlsTest, TheQueueServesBesideATlsListener) {
  RedisServer redis;
  ASSERT_TRUE(redis.started()) << redis.log();
  std::vector<std::string> flags = ServerFlags();
  flags.insert(flags.end(), {"--queue", redis.url()});
  WorkerProcess worker(flags);
  ASSERT_TRUE(worker.started()) << worker.log();
  ProcessResult queued = RunSend({"--queue", redis.url(), ProgramPath("hello.cpp")});
  EXPECT_EQ(queued.exit_code, 0) << queued << worker.log();
  EXPECT_EQ(queued.stdout_text, "hello from rexec\n") << queued;
  ExpectServedOverTls(worker);
}

// The C++ API: ClientOptions::tls against a rexec-worker process, WorkerOptions::tls embedded.
TEST_F(TlsTest, ApiClientRunsACommandOverMutualTls) {
  WorkerProcess worker(MutualServerFlags());
  ASSERT_TRUE(worker.started()) << worker.log();
  ClientOptions options;
  options.bitcode_cache_dir = "-";
  options.tls = {certs_.Path("client.pem"), certs_.Path("client.key"), certs_.Path("ca.pem")};
  auto client = Client::Connect(worker.address(), options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto module = (*client)->Compile({ProgramPath("commands/sample_commands.cpp")}, {});
  ASSERT_TRUE(module.ok()) << module.status();
  auto result = (*client)->Run(*module, Square{7});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state.value, 49);

  ClientOptions without_certificate = options;
  without_certificate.tls.certificate_file.clear();
  without_certificate.tls.key_file.clear();
  auto refused = Client::Connect(worker.address(), without_certificate);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("client certificate"));
}

TEST_F(TlsTest, ApiEmbeddedWorkerServesTls) {
  WorkerOptions worker_options;
  worker_options.cache_dir = "-";
  worker_options.tls = {certs_.Path("server.pem"), certs_.Path("server.key"), ""};
  auto worker = Worker::Start(worker_options);
  ASSERT_TRUE(worker.ok()) << worker.status();

  ClientOptions options;
  options.tls.ca_file = certs_.Path("ca.pem");
  auto client = Client::Connect((*worker)->address(), options);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_TRUE((*client)->Ping().ok());

  auto plain = Client::Connect((*worker)->address(), ClientOptions{});
  EXPECT_EQ(plain.status().code(), absl::StatusCode::kUnavailable) << plain.status();
  EXPECT_THAT(std::string(plain.status().message()), HasSubstr("this worker requires TLS"));
  EXPECT_TRUE((*client)->Ping().ok());
}

}  // namespace
}  // namespace rexec::testing
