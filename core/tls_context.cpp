#include "core/tls_context.h"

#include <optional>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/atomic_file.h"

namespace rexec {
namespace {

constexpr uint64_t kMaxPemFileBytes = 1 << 20;

absl::StatusOr<std::string> ReadPemFile(const std::string& path, const char* what) {
  std::optional<std::string> text = ReadWholeFile(path, kMaxPemFileBytes);
  if (!text.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read TLS ", what, " file ", path));
  }
  return *std::move(text);
}

// Each certificate of a PEM file on its own: kj trusts only the first certificate of a chain,
// and a CA file may hold several CAs.
std::vector<std::string> SplitPemCertificates(std::string_view pem) {
  constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string> certificates;
  size_t begin = pem.find(kBegin);
  while (begin != std::string_view::npos) {
    size_t end = pem.find(kEnd, begin);
    if (end == std::string_view::npos) break;
    end += kEnd.size();
    certificates.emplace_back(pem.substr(begin, end - begin));
    begin = pem.find(kBegin, end);
  }
  return certificates;
}

absl::Status CheckCombination(const TlsOptions& options, TlsSide side) {
  if (options.certificate_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        options.key_file.empty() ? "a TLS certificate needs its private key (--tls-key)"
                                 : "a TLS private key needs its certificate (--tls-cert)");
  }
  if (side == TlsSide::kServer && options.certificate_file.empty() && !options.ca_file.empty()) {
    return absl::InvalidArgumentError(
        "requiring client certificates (--tls-client-ca) needs TLS: give the worker's own "
        "certificate and key (--tls-cert, --tls-key)");
  }
  if (side == TlsSide::kClient && options.ca_file.empty() && !options.certificate_file.empty()) {
    return absl::InvalidArgumentError(
        "a TLS client certificate needs the CA that signed the worker's certificate (--tls-ca)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<kj::Own<kj::TlsContext>> MakeTlsContext(const TlsOptions& options, TlsSide side) {
  if (absl::Status combination = CheckCombination(options, side); !combination.ok()) {
    return combination;
  }
  const bool enabled =
      side == TlsSide::kServer ? !options.certificate_file.empty() : !options.ca_file.empty();
  if (!enabled) return kj::Own<kj::TlsContext>();

  std::vector<std::string> ca_certificates;
  if (!options.ca_file.empty()) {
    absl::StatusOr<std::string> pem = ReadPemFile(options.ca_file, "CA");
    if (!pem.ok()) return pem.status();
    ca_certificates = SplitPemCertificates(*pem);
    if (ca_certificates.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLS CA file ", options.ca_file, " holds no PEM certificate"));
    }
  }
  std::string certificate_pem, key_pem;
  if (!options.certificate_file.empty()) {
    absl::StatusOr<std::string> certificate = ReadPemFile(options.certificate_file, "certificate");
    if (!certificate.ok()) return certificate.status();
    absl::StatusOr<std::string> key = ReadPemFile(options.key_file, "key");
    if (!key.ok()) return key.status();
    certificate_pem = *std::move(certificate);
    key_pem = *std::move(key);
  }

  // kj reports a bad file by throwing; remember which file it was reading.
  const std::string* reading = &options.ca_file;
  kj::Own<kj::TlsContext> context;
  KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&] {
                std::vector<kj::TlsCertificate> trusted;
                for (const std::string& pem : ca_certificates) {
                  trusted.emplace_back(kj::StringPtr(pem.c_str()));
                }
                std::optional<kj::TlsKeypair> keypair;
                if (!certificate_pem.empty()) {
                  reading = &options.key_file;
                  kj::TlsPrivateKey key(kj::StringPtr(key_pem.c_str()));
                  reading = &options.certificate_file;
                  keypair.emplace(kj::TlsKeypair{kj::mv(key),
                                                 kj::TlsCertificate(certificate_pem.c_str())});
                }
                kj::TlsContext::Options tls;
                tls.useSystemTrustStore = false;
                tls.trustedCertificates = kj::arrayPtr(trusted.data(), trusted.size());
                tls.verifyClients = side == TlsSide::kServer && !trusted.empty();
                if (keypair.has_value()) tls.defaultKeypair = *keypair;
                // The context holds its own references to the keys and certificates.
                context = kj::heap<kj::TlsContext>(kj::mv(tls));
              })) {
    return absl::InvalidArgumentError(absl::StrCat("TLS: cannot use ", *reading, ": ",
                                                   exception->getDescription().cStr()));
  }
  return context;
}

}  // namespace rexec
