#include "runtime/service/client_connections.h"

#include <kj/debug.h>

#include "absl/strings/str_cat.h"

namespace rexec {
namespace {

// How long a connection the worker closed has to read why before it is cut off.
constexpr kj::Duration kCloseGrace = 1 * kj::SECONDS;

int64_t Seconds(kj::Duration duration) { return duration / kj::SECONDS; }

}  // namespace

ClientConnection::Call::Call(ClientConnection& connection) : connection_(connection) {
  ++connection_.calls_;
}

ClientConnection::Call::~Call() {
  --connection_.calls_;
  connection_.last_activity_ = connection_.table_.timer_.now();
}

ClientConnection::ClientConnection(ConnectionTable& table, std::string peer,
                                   std::string peer_host)
    : table_(table),
      peer_(std::move(peer)),
      peer_host_(std::move(peer_host)),
      jobs_(table.admission_.NewSource(table.limits_.max_jobs_per_connection)),
      opened_(table.timer_.now()),
      last_activity_(opened_),
      ended_(nullptr),
      watch_(nullptr),
      grace_(nullptr) {
  auto ended = kj::newPromiseAndFulfiller<void>();
  end_ = kj::mv(ended.fulfiller);
  ended_ = kj::mv(ended.promise);
  position_ = table_.open_.insert(table_.open_.end(), this);
  watch_ = Watch().eagerlyEvaluate(nullptr);
}

ClientConnection::~ClientConnection() {
  if (closing_) --table_.closing_;
  table_.open_.erase(position_);
}

void ClientConnection::LoggedIn() {
  logged_in_ = true;
  if (gate_ != nullptr) gate_->Open();
  if (logged_in_fulfiller_->isWaiting()) logged_in_fulfiller_->fulfill();
}

kj::Own<kj::AsyncIoStream> ClientConnection::Gate(kj::Own<kj::AsyncIoStream> stream) {
  auto gate = kj::heap<FrameSizeGate>(kj::mv(stream), table_.limits_.max_message_before_login,
                                      table_.limits_.max_message,
                                      [this] { last_activity_ = table_.timer_.now(); });
  gate_ = gate.get();
  if (logged_in_) gate_->Open();
  return kj::Own<kj::AsyncIoStream>(kj::mv(gate)).attach(kj::defer([this] { gate_ = nullptr; }));
}

kj::Promise<void> ClientConnection::Ended() { return kj::mv(ended_); }

void ClientConnection::End() {
  if (!closing_) {
    closing_ = true;
    ++table_.closing_;
  }
  if (end_->isWaiting()) end_->fulfill();
}

void ClientConnection::Close(const std::string& reason) {
  if (closing_) return;
  KJ_LOG(WARNING, "closed a connection", peer_, reason);
  closing_ = true;
  ++table_.closing_;
  if (gate_ == nullptr) {  // still in its TLS handshake: nothing to tell it through
    End();
    return;
  }
  gate_->Fail(kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                            kj::str("the worker closed this connection: ", reason)));
  grace_ = table_.timer_.afterDelay(kCloseGrace).then([this] { End(); }).eagerlyEvaluate(nullptr);
}

kj::Promise<void> ClientConnection::Watch() {
  auto login = kj::newPromiseAndFulfiller<void>();
  logged_in_fulfiller_ = kj::mv(login.fulfiller);
  const kj::Duration login_timeout = table_.limits_.login_timeout;
  auto deadline = table_.timer_.atTime(opened_ + login_timeout)
                      .then([this, login_timeout]() -> kj::Promise<void> {
                        Close(absl::StrCat("it did not log in within ", Seconds(login_timeout),
                                           " s"));
                        return kj::NEVER_DONE;
                      });
  return login.promise.exclusiveJoin(kj::mv(deadline)).then([this] { return WatchIdle(); });
}

kj::Promise<void> ClientConnection::WatchIdle() {
  const kj::Duration idle_timeout = table_.limits_.idle_timeout;
  if (idle_timeout == 0 * kj::SECONDS) return kj::NEVER_DONE;
  const kj::TimePoint now = table_.timer_.now();
  if (!busy() && now - last_activity_ >= idle_timeout) {
    Close(absl::StrCat("idle for ", Seconds(idle_timeout), " s (no call in flight, nothing sent)"));
    return kj::READY_NOW;
  }
  // A call in flight keeps it from being idle; it is looked at again a whole timeout later.
  const kj::TimePoint next = busy() ? now + idle_timeout : last_activity_ + idle_timeout;
  return table_.timer_.atTime(next).then([this] { return WatchIdle(); });
}

ConnectionTable::ConnectionTable(const ConnectionLimits& limits, kj::Timer& timer,
                                 JobAdmission& admission)
    : limits_(limits), timer_(timer), admission_(admission) {}

ConnectionTable::~ConnectionTable() { KJ_ASSERT(open_.empty(), "connections outlive their table"); }

kj::Own<ClientConnection> ConnectionTable::Open(std::string peer, std::string peer_host) {
  if (open_.size() - closing_ >= limits_.max_connections) {
    // Room is made by the connection idle longest, one that has not logged in first.
    ClientConnection* victim = nullptr;
    for (ClientConnection* connection : open_) {
      if (connection->closing_ || connection->busy()) continue;
      if (victim == nullptr ||
          (connection->logged_in_ == victim->logged_in_
               ? connection->last_activity_ < victim->last_activity_
               : !connection->logged_in_)) {
        victim = connection;
      }
    }
    if (victim == nullptr) return {};
    KJ_LOG(WARNING, "closed the connection idle longest to make room for a new one",
           victim->peer_, limits_.max_connections);
    // At once, not after a grace: the room is for the connection waiting now.
    victim->End();
  }
  return kj::heap<ClientConnection>(*this, std::move(peer), std::move(peer_host));
}

}  // namespace rexec
