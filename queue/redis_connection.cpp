#include "queue/redis_connection.h"

#include <hiredis/hiredis.h>
#include <kj/debug.h>
#include <kj/vector.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace rexec {
namespace {

constexpr size_t kReadChunk = 64 * 1024;

std::string Describe(const std::vector<std::string_view>& args) {
  return args.empty() ? std::string("(empty command)") : std::string(args.front());
}

}  // namespace

bool RedisValue::is_nil() const { return reply_ == nullptr || reply_->type == REDIS_REPLY_NIL; }
bool RedisValue::is_error() const { return reply_ != nullptr && reply_->type == REDIS_REPLY_ERROR; }
bool RedisValue::is_integer() const {
  return reply_ != nullptr && reply_->type == REDIS_REPLY_INTEGER;
}
bool RedisValue::is_string() const {
  return reply_ != nullptr &&
         (reply_->type == REDIS_REPLY_STRING || reply_->type == REDIS_REPLY_STATUS);
}
bool RedisValue::is_array() const { return reply_ != nullptr && reply_->type == REDIS_REPLY_ARRAY; }

std::string_view RedisValue::str() const {
  if (reply_ == nullptr || reply_->str == nullptr) return {};
  return {reply_->str, reply_->len};
}
long long RedisValue::integer() const { return is_integer() ? reply_->integer : 0; }
size_t RedisValue::size() const { return is_array() ? reply_->elements : 0; }
RedisValue RedisValue::operator[](size_t i) const {
  return RedisValue(i < size() ? reply_->element[i] : nullptr);
}

RedisReply::RedisReply(redisReply* reply) : reply_(reply) {}
RedisReply::RedisReply(RedisReply&& other) noexcept : reply_(other.reply_) {
  other.reply_ = nullptr;
}
RedisReply& RedisReply::operator=(RedisReply&& other) noexcept {
  std::swap(reply_, other.reply_);
  return *this;
}
RedisReply::~RedisReply() {
  if (reply_ != nullptr) freeReplyObject(reply_);
}

RedisConnection::RedisConnection(kj::Own<kj::AsyncIoStream> stream)
    : stream_(kj::mv(stream)),
      reader_(redisReaderCreate(), &redisReaderFree),
      disconnected_(nullptr) {
  KJ_REQUIRE(reader_ != nullptr, "out of memory");
  auto paf = kj::newPromiseAndFulfiller<void>();
  disconnect_fulfiller_ = kj::mv(paf.fulfiller);
  disconnected_ = paf.promise.fork();
  reading_ = ReadLoop().eagerlyEvaluate(
      [this](kj::Exception&& exception) { Fail(kj::mv(exception)); });
}

RedisConnection::~RedisConnection() noexcept(false) {
  write_loop_ = nullptr;
  reading_ = nullptr;
  if (connected()) Fail(KJ_EXCEPTION(DISCONNECTED, "Redis connection closed"));
}

kj::Promise<kj::Own<RedisConnection>> RedisConnection::Connect(kj::AsyncIoProvider& io,
                                                               kj::Timer& timer,
                                                               const RedisUrl& url,
                                                               kj::Duration timeout) {
  auto connected =
      io.getNetwork()
          .parseAddress(url.host, url.port)
          .then([](kj::Own<kj::NetworkAddress> address) { return address->connect(); })
          .then([url](kj::Own<kj::AsyncIoStream> stream) -> kj::Promise<kj::Own<RedisConnection>> {
            kj::Own<RedisConnection> connection(new RedisConnection(kj::mv(stream)),
                                                kj::_::HeapDisposer<RedisConnection>::instance);
            kj::Vector<kj::Promise<RedisReply>> setup;
            if (!url.password.empty()) {
              std::vector<std::string_view> auth = {"AUTH"};
              if (!url.user.empty()) auth.push_back(url.user);
              auth.push_back(url.password);
              setup.add(connection->CallOrThrow(auth));
            }
            if (url.database != 0) {
              std::string db = std::to_string(url.database);
              setup.add(connection->CallOrThrow({"SELECT", db}));
            }
            return kj::joinPromises(setup.releaseAsArray())
                .then([connection = kj::mv(connection)](auto) mutable { return kj::mv(connection); });
          });
  return timer.timeoutAfter(timeout, kj::mv(connected))
      .catch_([url](kj::Exception&& exception) -> kj::Own<RedisConnection> {
        kj::throwFatalException(kj::Exception(
            kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__,
            kj::str("cannot reach Redis at ", url.Redacted().c_str(), ": ",
                    exception.getDescription())));
      });
}

kj::Promise<RedisReply> RedisConnection::Call(const std::vector<std::string_view>& args) {
  KJ_IF_MAYBE(broken, broken_) { return kj::cp(*broken); }
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (std::string_view arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* command = nullptr;
  int length = redisFormatCommandArgv(&command, static_cast<int>(args.size()), argv.data(),
                                      lengths.data());
  KJ_REQUIRE(length >= 0, "cannot format Redis command", Describe(args).c_str());
  outbox_.append(command, static_cast<size_t>(length));
  std::free(command);

  auto paf = kj::newPromiseAndFulfiller<RedisReply>();
  waiting_.push_back(kj::mv(paf.fulfiller));
  if (!writing_) {
    writing_ = true;
    // Later in this turn more commands may come: they leave in the same write.
    write_loop_ = kj::evalLater([this] { return WriteLoop(); })
                      .eagerlyEvaluate([this](kj::Exception&& e) { Fail(kj::mv(e)); });
  }
  return kj::mv(paf.promise);
}

kj::Promise<RedisReply> RedisConnection::CallOrThrow(const std::vector<std::string_view>& args) {
  std::string name = Describe(args);
  return Call(args).then([name = kj::mv(name)](RedisReply reply) {
    if (reply.is_error()) {
      KJ_FAIL_REQUIRE("Redis refused a command", name.c_str(), std::string(reply.str()).c_str());
    }
    return kj::mv(reply);
  });
}

kj::Promise<void> RedisConnection::WriteLoop() {
  if (outbox_.empty() || !connected()) {
    writing_ = false;
    return kj::READY_NOW;
  }
  auto batch = kj::heap<std::string>();
  batch->swap(outbox_);
  const char* data = batch->data();
  size_t size = batch->size();
  return stream_->write(data, size).attach(kj::mv(batch)).then([this] { return WriteLoop(); });
}

kj::Promise<void> RedisConnection::ReadLoop() {
  auto buffer = kj::heapArray<char>(kReadChunk);
  char* begin = buffer.begin();
  return stream_->tryRead(begin, 1, kReadChunk)
      .then([this, buffer = kj::mv(buffer)](size_t n) -> kj::Promise<void> {
        if (n == 0) {
          Fail(KJ_EXCEPTION(DISCONNECTED, "Redis closed the connection"));
          return kj::READY_NOW;
        }
        if (redisReaderFeed(reader_.get(), buffer.begin(), n) != REDIS_OK) {
          Fail(KJ_EXCEPTION(FAILED, "malformed reply from Redis"));
          return kj::READY_NOW;
        }
        for (;;) {
          void* reply = nullptr;
          if (redisReaderGetReply(reader_.get(), &reply) != REDIS_OK) {
            Fail(KJ_EXCEPTION(FAILED, "malformed reply from Redis", reader_->errstr));
            return kj::READY_NOW;
          }
          if (reply == nullptr) break;
          RedisReply owned(static_cast<redisReply*>(reply));
          if (waiting_.empty()) {
            Fail(KJ_EXCEPTION(FAILED, "Redis sent a reply nobody asked for"));
            return kj::READY_NOW;
          }
          kj::Own<kj::PromiseFulfiller<RedisReply>> waiter = kj::mv(waiting_.front());
          waiting_.pop_front();
          waiter->fulfill(kj::mv(owned));
        }
        return ReadLoop();
      });
}

void RedisConnection::Fail(kj::Exception exception) {
  if (!connected()) return;
  // Whatever went wrong, the connection is unusable now: callers see a disconnect.
  kj::Exception lost(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__,
                     kj::heapString(exception.getDescription()));
  broken_ = kj::cp(lost);
  while (!waiting_.empty()) {
    waiting_.front()->reject(kj::cp(lost));
    waiting_.pop_front();
  }
  outbox_.clear();
  // Tells the server at once; a socket that is already gone may refuse, which changes nothing.
  kj::runCatchingExceptions([this] { stream_->shutdownWrite(); });
  disconnect_fulfiller_->fulfill();
}

}  // namespace rexec
