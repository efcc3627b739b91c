#include "runtime/service/queue_consumer.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/debug.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "queue/queue_keys.h"
#include "queue/redis_fields.h"
#include "queue/redis_link.h"
#include "runtime/service/queued_job.h"
#include "runtime/service/request_checks.h"
#include "runtime/service/worker_description.h"
#include "schema/queue.capnp.h"

namespace rexec {
namespace {

// Publishes results only for the jobs this call acknowledges, so a job that two workers ran (one
// presumed dead) is answered once, and counts them.
//   KEYS: the job stream, the stats hash
//   ARGV: group, reply expiry (ms), consumer, then per job: entry id, reply stream, payload
constexpr char kCompleteScript[] = R"lua(
local done = 0
for i = 4, #ARGV, 3 do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('XDEL', KEYS[1], ARGV[i])
    redis.call('XADD', ARGV[i + 1], '*', 'd', ARGV[i + 2])
    redis.call('PEXPIRE', ARGV[i + 1], ARGV[2])
    done = done + 1
  end
end
if done > 0 then
  redis.call('HINCRBY', KEYS[2], 'completed', done)
  redis.call('HINCRBY', KEYS[2], 'completed:' .. ARGV[3], done)
end
return done
)lua";

// A reply stream outlives its client by this much, so an abandoned one does not stay forever.
constexpr char kReplyExpiryMs[] = "3600000";
// Unread chunks a reply stream may hold; beyond it the oldest go (approximately).
constexpr char kReplyMaxLength[] = "100000";
constexpr char kModuleExpirySeconds[] = "604800";  // a week after its last use
constexpr uint64_t kFileChunkBytes = 1 << 20;     // an input file is fetched in chunks this big
constexpr char kReadBlockMs[] = "1000";
// Past this, a running job tells its client it started (fast jobs send only their result).
constexpr kj::Duration kStartedNotice = 100 * kj::MILLISECONDS;
// A client confirmed alive this recently is not asked again.
constexpr auto kClientAliveCache = std::chrono::seconds(1);
constexpr kj::Duration kRegistrationPeriod = 1 * kj::SECONDS;
constexpr char kRegistrationExpiryMs[] = "5000";
constexpr size_t kMaxReclaimBatch = 64;

std::string_view AsStringView(kj::ArrayPtr<const kj::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.begin()), bytes.size()};
}

kj::Array<capnp::word> Serialize(capnp::MessageBuilder& message) {
  return capnp::messageToFlatArray(message);
}

std::string_view AsStringView(const kj::Array<capnp::word>& words) {
  return AsStringView(words.asBytes());
}

}  // namespace

class QueueConsumer::Impl {
 public:
  Impl(WorkerState& state, kj::AsyncIoContext& io, RedisUrl url)
      : state_(state),
        io_(io),
        timer_(io.provider->getTimer()),
        options_(state.options),
        keys_(options_.queue_name),
        consumer_(UniqueParticipantName()),
        reads_(*io.provider, timer_, url, "queue reads"),
        writes_(*io.provider, timer_, url, "queue writes"),
        prefetch_(options_.queue_prefetch != 0
                      ? options_.queue_prefetch
                      : 8 * std::max(1u, std::thread::hardware_concurrency())),
        visibility_(options_.queue_visibility_timeout_ms * kj::MILLISECONDS),
        reader_options_(QueuedJobReaderOptions(options_)),
        admission_source_(state.admission.NewSource(0)) {}

  const std::string& consumer() const { return consumer_; }

  std::string Description() const {
    return absl::StrCat("queue '", options_.queue_name, "' at ", reads_.url().Redacted(), " as ",
                        consumer_);
  }

  kj::Promise<void> Run() {
    auto loops = kj::heapArrayBuilder<kj::Promise<void>>(4);
    loops.add(ReadLoop());
    loops.add(HeartbeatLoop());
    loops.add(ReclaimLoop());
    loops.add(RegistrationLoop());
    return kj::joinPromises(loops.finish());
  }

 private:
  // A job taken from the stream, from decoding to its published result.
  using Job = QueuedJobEntry;

  // Output of a job, published to its client's reply stream as it comes.
  class QueueJobIo final : public JobIo {
   public:
    QueueJobIo(Impl& owner, const Job& job, kj::ArrayPtr<const kj::byte> stdin_bytes)
        : owner_(owner), job_(job), stdin_(stdin_bytes) {}

    kj::Promise<void> Write(OutputKind kind, kj::Array<kj::byte> data) override {
      capnp::MallocMessageBuilder message;
      auto reply = owner_.StartReply(message, job_);
      auto chunk = reply.initOutput();
      chunk.setStream(kind == OutputKind::kStdout ? wire::OutputStream::STDOUT
                                                  : wire::OutputStream::STDERR);
      chunk.setData(data);
      return owner_.PublishOutput(job_.reply_stream, Serialize(message));
    }

    kj::Promise<kj::Array<kj::byte>> Read(size_t max_bytes) override {
      size_t n = std::min(max_bytes, stdin_.size());
      auto chunk = kj::heapArray<kj::byte>(stdin_.slice(0, n));
      stdin_ = stdin_.slice(n, stdin_.size());
      return chunk;
    }

   private:
    Impl& owner_;
    const Job& job_;
    kj::ArrayPtr<const kj::byte> stdin_;
  };

  wire::QueueReply::Builder StartReply(capnp::MallocMessageBuilder& message, const Job& job) {
    auto reply = message.initRoot<wire::QueueReply>();
    reply.setJobId(job.job_id);
    reply.setWorker(consumer_);
    return reply;
  }

  // ---- Taking jobs -------------------------------------------------------------------------

  kj::Promise<void> ReadLoop() {
    if (running_ >= prefetch_) {
      auto paf = kj::newPromiseAndFulfiller<void>();
      slot_freed_ = kj::mv(paf.fulfiller);
      return paf.promise.then([this] { return ReadLoop(); });
    }
    return EnsureGroup()
        .then([this] { return reads_.Get(); })
        .then([this](RedisConnection* redis) {
          std::string count = std::to_string(prefetch_ - running_);
          return redis->Call({"XREADGROUP", "GROUP", kQueueGroup, consumer_, "COUNT", count,
                              "BLOCK", kReadBlockMs, "STREAMS", keys_.jobs(), ">"});
        })
        .then(
            [this](RedisReply reply) {
              if (reply.is_error()) {
                // NOGROUP: Redis lost the group (a restart without persistence).
                if (reply.str().starts_with("NOGROUP")) group_ready_ = false;
                KJ_LOG(WARNING, "reading the queue failed", std::string(reply.str()).c_str());
                return timer_.afterDelay(100 * kj::MILLISECONDS);
              }
              TakeEntries(reply.value());
              return kj::Promise<void>(kj::READY_NOW);
            },
            [this](kj::Exception&&) {
              group_ready_ = false;  // the server may have come back empty
              return timer_.afterDelay(100 * kj::MILLISECONDS);
            })
        .then([this] { return ReadLoop(); });
  }

  // XREADGROUP and XCLAIM answer [[stream, [[id, fields], ...]]] and [[id, fields], ...].
  void TakeEntries(RedisValue streams) {
    for (size_t s = 0; s < streams.size(); ++s) {
      RedisValue entries = streams[s][1];
      for (size_t e = 0; e < entries.size(); ++e) Take(entries[e]);
    }
  }

  kj::Promise<void> EnsureGroup() {
    if (group_ready_) return kj::READY_NOW;
    return writes_.Get()
        .then([this](RedisConnection* redis) {
          // From "0": jobs sent before any worker existed are served too (their deadlines
          // keep stale ones from running).
          return redis->Call({"XGROUP", "CREATE", keys_.jobs(), kQueueGroup, "0", "MKSTREAM"});
        })
        .then([this](RedisReply reply) {
          if (reply.is_error() && !reply.str().starts_with("BUSYGROUP")) {
            KJ_LOG(WARNING, "cannot create the queue's consumer group",
                   std::string(reply.str()).c_str());
            return;
          }
          group_ready_ = true;
        });
  }

  void Take(RedisValue entry) {
    std::string entry_id(entry[0].str());
    if (entry[1].is_nil()) {
      // Claimed after it was deleted: nothing to run.
      Acknowledge(entry_id);
      return;
    }
    KJ_IF_MAYBE(job, Decode(entry_id, entry[1])) {
      Start(kj::mv(*job));
    }
  }

  // A job from an entry, or null (after logging and acknowledging it) for garbage.
  kj::Maybe<kj::Own<Job>> Decode(const std::string& entry_id, RedisValue fields) {
    absl::StatusOr<kj::Own<Job>> job =
        DecodeQueuedJob(entry_id, fields, options_, reader_options_, keys_);
    if (!job.ok()) {
      ++state_.counters.queue_garbage;
      KJ_LOG(WARNING, "skipping a queue entry that is not a rexec job", entry_id.c_str(),
             std::string(job.status().message()).c_str());
      Acknowledge(entry_id);
      return nullptr;
    }
    return kj::mv(*job);
  }

  // ---- Running them ------------------------------------------------------------------------

  void Start(kj::Own<Job> job) {
    ++running_;
    held_.insert(job->entry_id);
    Job& ref = *job;
    jobs_.add(CheckCaller(ref)
                  .then([this, &ref](bool wanted) -> kj::Promise<void> {
                    if (!wanted) {
                      ++state_.counters.queue_expired;
                      return Answer(ref, nullptr);
                    }
                    return FetchModule(ref)
                        .then([this, &ref] { return FetchFiles(ref); })
                        .then([this, &ref] { return Execute(ref); });
                  })
                  .then([this] { SlotFreed(); },
                        [this, &ref](kj::Exception&& exception) {
                          // Not answered: it stays pending and another worker (or this one,
                          // after the visibility timeout) takes it over.
                          KJ_LOG(WARNING, "queue job not answered", ref.job_id.c_str(),
                                 exception.getDescription());
                          held_.erase(ref.entry_id);
                          SlotFreed();
                        })
                  .attach(kj::mv(job)));
  }

  void SlotFreed() {
    --running_;
    if (slot_freed_.get() != nullptr) {
      auto fulfiller = kj::mv(slot_freed_);
      fulfiller->fulfill();
    }
  }

  // Whether anyone still waits for the job: its deadline has not passed and its client lives.
  kj::Promise<bool> CheckCaller(const Job& job) {
    uint64_t deadline = job.queued.getDeadlineMs();
    if (deadline != 0 && UnixMilliseconds() > deadline) return false;
    std::string client = job.queued.getClient();
    auto now = std::chrono::steady_clock::now();
    if (auto it = clients_alive_.find(client);
        it != clients_alive_.end() && now - it->second < kClientAliveCache) {
      return true;
    }
    return writes_.Get()
        .then([this, client](RedisConnection* redis) {
          return redis->CallOrThrow({"EXISTS", keys_.client_alive(client)});
        })
        .then([this, client, now](RedisReply reply) {
          bool alive = reply.value().integer() == 1;
          if (alive) {
            clients_alive_[client] = now;
          } else {
            clients_alive_.erase(client);
          }
          return alive;
        });
  }

  // Resolves once the job's module and the libraries shipped with it are in the worker's store,
  // as far as Redis has them (verified).
  kj::Promise<void> FetchModule(const Job& job) {
    auto queued = job.queued.getJob();
    kj::Vector<kj::Promise<void>> fetches;
    fetches.add(FetchBlob(*ContentHash::FromBytes(AsStringView(queued.getModule()))));
    for (wire::Library::Reader library : queued.getLibraries()) {
      if (library.isSystem()) continue;
      std::optional<ContentHash> hash = ContentHash::FromBytes(
          AsStringView(library.isArchive() ? library.getArchive() : library.getObject()));
      // A malformed one is refused by the job's own checks.
      if (hash.has_value()) fetches.add(FetchBlob(*hash));
    }
    return kj::joinPromises(fetches.releaseAsArray());
  }

  kj::Promise<void> FetchBlob(const ContentHash& hash) {
    if (state_.modules.Contains(hash)) return kj::READY_NOW;
    return writes_.Get()
        .then([this, hash](RedisConnection* redis) {
          return redis->CallOrThrow({"GETEX", keys_.module(hash), "EX", kModuleExpirySeconds});
        })
        .then([this, hash](RedisReply reply) {
          std::string_view bitcode = reply.str();
          // Absent: the job answers missingModule and its client uploads it again.
          if (reply.value().is_nil()) return;
          if (bitcode.size() > options_.max_module_bytes || ContentHash::Of(bitcode) != hash) {
            KJ_LOG(WARNING, "module in Redis does not match its hash; ignored",
                   hash.short_hex().c_str());
            return;
          }
          state_.modules.Put(hash, std::make_shared<const std::string>(bitcode)).IgnoreError();
        });
  }

  // Resolves once the job's input files this worker lacks are in its file store, as far as
  // Redis has them: each streamed in bounded chunks and stored only if it matches its hash. One
  // still missing then fails the job, saying which.
  kj::Promise<void> FetchFiles(const Job& job) {
    auto inputs = job.queued.getJob().getInputs();
    if (inputs.size() > kMaxJobInputs) return kj::READY_NOW;  // the job's check refuses it
    auto wanted = std::make_shared<std::vector<std::pair<ContentHash, uint64_t>>>();
    absl::flat_hash_set<ContentHash> seen;
    for (auto input : inputs) {
      std::optional<ContentHash> hash = ContentHash::FromBytes(AsStringView(input.getHash()));
      if (!hash || state_.files.Contains(*hash) || !seen.insert(*hash).second) continue;
      wanted->emplace_back(*hash, input.getSize());
    }
    return FetchFilesFrom(wanted, 0);
  }

  kj::Promise<void> FetchFilesFrom(
      std::shared_ptr<std::vector<std::pair<ContentHash, uint64_t>>> wanted, size_t next) {
    if (next >= wanted->size()) return kj::READY_NOW;
    const auto [hash, size] = (*wanted)[next];
    absl::StatusOr<std::unique_ptr<FileStore::Upload>> upload =
        state_.files.StartUpload(hash, size);
    kj::Promise<void> fetched = kj::READY_NOW;
    if (upload.ok()) {
      fetched = FetchFileChunks(hash, std::shared_ptr<FileStore::Upload>(*std::move(upload)), 0,
                                size);
    } else {
      KJ_LOG(WARNING, "cannot fetch a queued job's input file", hash.short_hex().c_str(),
             std::string(upload.status().message()));
    }
    return fetched.then([this, wanted, next] { return FetchFilesFrom(wanted, next + 1); });
  }

  kj::Promise<void> FetchFileChunks(ContentHash hash, std::shared_ptr<FileStore::Upload> upload,
                                    uint64_t offset, uint64_t size) {
    if (offset >= size) {
      if (absl::Status stored = upload->Finish(); !stored.ok()) {
        KJ_LOG(WARNING, "input file in Redis not stored", hash.short_hex().c_str(),
               std::string(stored.message()));
      }
      return kj::READY_NOW;
    }
    const uint64_t last = std::min(offset + kFileChunkBytes, size) - 1;
    return writes_.Get()
        .then([this, hash, offset, last](RedisConnection* redis) {
          return redis->CallOrThrow({"GETRANGE", keys_.file(hash), absl::StrCat(offset),
                                     absl::StrCat(last)});
        })
        .then([this, hash, upload, offset, last, size](RedisReply reply) -> kj::Promise<void> {
          std::string_view data = reply.str();
          // Shorter than announced (expired, or never complete): dropped, the job says so.
          if (data.size() != last - offset + 1 || !upload->Write(data).ok()) return kj::READY_NOW;
          return FetchFileChunks(hash, upload, last + 1, size);
        });
  }

  kj::Promise<void> Execute(Job& job) {
    auto message = kj::heap<capnp::MallocMessageBuilder>();
    auto reply = StartReply(*message, job);
    kj::Own<JobIo> io;
    if (job.queued.getStreamOutput()) {
      io = kj::heap<QueueJobIo>(*this, job, job.queued.getStdin());
    }
    // Tells the client that a job is under way once it has run a while, so a client can tell a
    // long job from a lost one; a job that ends sooner sends only its result.
    auto notice = kj::heap<kj::Promise<void>>(
        timer_.afterDelay(kStartedNotice)
            .then([this, &job] {
              capnp::MallocMessageBuilder started;
              StartReply(started, job).setStarted();
              return PublishOutput(job.reply_stream, Serialize(started));
            })
            .eagerlyEvaluate([](kj::Exception&&) {}));
    kj::Promise<void>& pending_notice = *notice;
    wire::JobResult::Builder result = reply.initResult();
    capnp::MallocMessageBuilder& built = *message;
    // A job the worker refuses (too many arguments, too large a state, an unknown entry) is
    // answered with why, as the Cap'n Proto front door answers it. Left unanswered, it would be
    // delivered again after every visibility timeout and end up dead-lettered as a job that
    // kills its workers.
    kj::Promise<void> ran = nullptr;
    KJ_IF_MAYBE(refused, kj::runCatchingExceptions([&] {
                  ran = RunJob(state_, *admission_source_, job.queued.getJob(), kj::mv(io), result);
                })) {
      auto failed = result.initOutcome().initFailed();
      failed.setStage(wire::Failure::Stage::REQUEST);
      failed.setMessage(refused->getDescription());
      ran = kj::READY_NOW;
    }
    return ran.then([this, &job, &built, &pending_notice]() mutable {
                pending_notice = nullptr;
                ++state_.counters.queue_jobs;
                return Answer(job, &built);
              })
        .attach(kj::mv(message), kj::mv(notice));
  }

  // Acknowledges the job, publishing `reply` (when given) in the same step.
  kj::Promise<void> Answer(const Job& job, capnp::MallocMessageBuilder* reply) {
    if (reply == nullptr) {
      Acknowledge(job.entry_id);
      held_.erase(job.entry_id);
      return kj::READY_NOW;
    }
    auto paf = kj::newPromiseAndFulfiller<void>();
    pending_answers_.push_back(
        {job.entry_id, job.reply_stream, Serialize(*reply), kj::mv(paf.fulfiller)});
    ScheduleFlush();
    return kj::mv(paf.promise);
  }

  // ---- Publishing, batched per event-loop turn ---------------------------------------------

  struct PendingAnswer {
    std::string entry_id;
    std::string reply_stream;
    kj::Array<capnp::word> payload;
    kj::Own<kj::PromiseFulfiller<void>> done;
  };
  struct PendingOutput {
    std::string reply_stream;
    kj::Array<capnp::word> payload;
    kj::Own<kj::PromiseFulfiller<void>> done;
  };

  kj::Promise<void> PublishOutput(const std::string& reply_stream,
                                  kj::Array<capnp::word> payload) {
    auto paf = kj::newPromiseAndFulfiller<void>();
    pending_outputs_.push_back({reply_stream, kj::mv(payload), kj::mv(paf.fulfiller)});
    ScheduleFlush();
    return kj::mv(paf.promise);
  }

  void ScheduleFlush() {
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    jobs_.add(kj::evalLater([this] { return Flush(); }));
  }

  // Everything published in one turn goes in one pipelined batch, answers in one script call.
  kj::Promise<void> Flush() {
    flush_scheduled_ = false;
    auto outputs = kj::heap<std::vector<PendingOutput>>(std::move(pending_outputs_));
    auto answers = kj::heap<std::vector<PendingAnswer>>(std::move(pending_answers_));
    pending_outputs_.clear();
    pending_answers_.clear();
    return writes_.Get()
        .then([this, &outputs = *outputs, &answers = *answers](RedisConnection* redis) {
          kj::Vector<kj::Promise<RedisReply>> sent;
          for (PendingOutput& output : outputs) {
            sent.add(redis->CallOrThrow({"XADD", output.reply_stream, "MAXLEN", "~",
                                         kReplyMaxLength, "*", "d",
                                         AsStringView(output.payload)}));
          }
          if (!answers.empty()) {
            std::vector<std::string_view> args = {"EVAL", kCompleteScript, "2", keys_.jobs(),
                                                  keys_.stats(), kQueueGroup, kReplyExpiryMs,
                                                  consumer_};
            for (PendingAnswer& answer : answers) {
              args.push_back(answer.entry_id);
              args.push_back(answer.reply_stream);
              args.push_back(AsStringView(answer.payload));
            }
            sent.add(redis->CallOrThrow(args));
          }
          return kj::joinPromises(sent.releaseAsArray());
        })
        .then(
            [this, &outputs = *outputs, &answers = *answers](auto) {
              for (PendingOutput& output : outputs) output.done->fulfill();
              for (PendingAnswer& answer : answers) {
                held_.erase(answer.entry_id);
                answer.done->fulfill();
              }
            },
            [this, &outputs = *outputs, &answers = *answers](kj::Exception&& exception) {
              // Unpublished answers leave their jobs pending: another worker runs them again
              // after the visibility timeout. Output already lost cannot be sent again.
              for (PendingOutput& output : outputs) output.done->reject(kj::cp(exception));
              for (PendingAnswer& answer : answers) {
                held_.erase(answer.entry_id);
                answer.done->reject(kj::cp(exception));
              }
            })
        .attach(kj::mv(outputs), kj::mv(answers));
  }

  void Acknowledge(const std::string& entry_id) {
    jobs_.add(writes_.Get().then([this, entry_id](RedisConnection* redis) {
      return kj::joinPromises(kj::arr(redis->Call({"XACK", keys_.jobs(), kQueueGroup, entry_id}),
                                      redis->Call({"XDEL", keys_.jobs(), entry_id})))
          .ignoreResult();
    }));
  }

  // ---- Keeping claims, taking over abandoned jobs ------------------------------------------

  kj::Promise<void> HeartbeatLoop() {
    return timer_.afterDelay(visibility_ / 3)
        .then([this]() -> kj::Promise<void> {
          if (held_.empty()) return kj::READY_NOW;
          return writes_.Get()
              .then([this](RedisConnection* redis) {
                std::vector<std::string_view> args = {"XCLAIM", keys_.jobs(), kQueueGroup,
                                                      consumer_, "0"};
                for (const std::string& id : held_) args.push_back(id);
                args.push_back("JUSTID");
                return redis->Call(args).ignoreResult();
              })
              .catch_([](kj::Exception&&) {});
        })
        .then([this] { return HeartbeatLoop(); });
  }

  kj::Promise<void> ReclaimLoop() {
    return timer_.afterDelay(visibility_ / 2)
        .then([this] { return kj::joinPromises(kj::arr(Reclaim(), ForgetDeadConsumers())); })
        .catch_([](kj::Exception&&) {})
        .then([this] { return ReclaimLoop(); });
  }

  kj::Promise<void> Reclaim() {
    if (running_ >= prefetch_ || !group_ready_) return kj::READY_NOW;
    std::string idle = std::to_string(options_.queue_visibility_timeout_ms);
    std::string count = std::to_string(std::min(kMaxReclaimBatch, prefetch_ - running_));
    return writes_.Get()
        .then([this, idle, count](RedisConnection* redis) {
          return redis->CallOrThrow(
              {"XPENDING", keys_.jobs(), kQueueGroup, "IDLE", idle, "-", "+", count});
        })
        .then([this, idle](RedisReply pending) -> kj::Promise<void> {
          // Each: [id, consumer, idle ms, deliveries].
          std::vector<std::string> retry, abandon;
          RedisValue list = pending.value();
          for (size_t i = 0; i < list.size(); ++i) {
            std::string id(list[i][0].str());
            if (held_.contains(id)) continue;
            (static_cast<uint64_t>(list[i][3].integer()) >= options_.queue_max_deliveries
                 ? abandon
                 : retry)
                .push_back(id);
          }
          if (retry.empty() && abandon.empty()) return kj::READY_NOW;
          return writes_.Get().then([this, idle, retry = kj::mv(retry),
                                     abandon = kj::mv(abandon)](RedisConnection* redis) {
            auto claim = [&](const std::vector<std::string>& ids) {
              // The idle bound makes the claim fail if another worker was quicker.
              std::vector<std::string_view> args = {"XCLAIM", keys_.jobs(), kQueueGroup,
                                                    consumer_, idle};
              for (const std::string& id : ids) args.push_back(id);
              return redis->CallOrThrow(args);
            };
            kj::Promise<void> retried = kj::READY_NOW;
            if (!retry.empty()) {
              retried = claim(retry).then([this](RedisReply claimed) {
                RedisValue entries = claimed.value();
                state_.counters.queue_reclaimed += entries.size();
                for (size_t i = 0; i < entries.size(); ++i) Take(entries[i]);
              });
            }
            kj::Promise<void> abandoned = kj::READY_NOW;
            if (!abandon.empty()) {
              abandoned = claim(abandon).then([this](RedisReply claimed) {
                RedisValue entries = claimed.value();
                for (size_t i = 0; i < entries.size(); ++i) DeadLetter(entries[i]);
              });
            }
            return kj::joinPromises(kj::arr(kj::mv(retried), kj::mv(abandoned)));
          });
        });
  }

  // A worker that died leaves its name in the group forever; once it has held no job for many
  // visibility timeouts, remove it. A live worker reads every second, which keeps its idle time
  // near zero, and a name with no pending jobs loses nothing (Redis recreates it on its next
  // read anyway).
  kj::Promise<void> ForgetDeadConsumers() {
    if (!group_ready_) return kj::READY_NOW;
    return writes_.Get()
        .then([this](RedisConnection* redis) {
          return redis->CallOrThrow({"XINFO", "CONSUMERS", keys_.jobs(), kQueueGroup});
        })
        .then([this](RedisReply consumers) -> kj::Promise<void> {
          const long long forget_after_ms =
              10 * static_cast<long long>(options_.queue_visibility_timeout_ms);
          std::vector<std::string> dead;
          RedisValue list = consumers.value();
          for (size_t c = 0; c < list.size(); ++c) {
            RedisValue fields = list[c];
            std::string_view name = Field(fields, "name").value_or("");
            if (IntegerField(fields, "pending", -1) == 0 &&
                IntegerField(fields, "idle", -1) > forget_after_ms && name != consumer_) {
              dead.emplace_back(name);
            }
          }
          if (dead.empty()) return kj::READY_NOW;
          return writes_.Get().then([this, dead = kj::mv(dead)](RedisConnection* redis) {
            kj::Vector<kj::Promise<RedisReply>> deleted;
            for (const std::string& name : dead) {
              deleted.add(redis->Call({"XGROUP", "DELCONSUMER", keys_.jobs(), kQueueGroup, name}));
            }
            return kj::joinPromises(deleted.releaseAsArray()).ignoreResult();
          });
        });
  }

  // Moves a job that keeps losing its workers to the dead-letter stream and tells its client.
  void DeadLetter(RedisValue entry) {
    std::string entry_id(entry[0].str());
    if (entry[1].is_nil()) return Acknowledge(entry_id);
    ++state_.counters.queue_dead_lettered;
    std::string payload(Field(entry[1], "d").value_or(""));
    std::string reason =
        absl::StrCat("delivered ", options_.queue_max_deliveries,
                     " times and every worker that took it stopped answering (it may kill its "
                     "worker); moved to ",
                     keys_.dead_letters());
    KJ_LOG(WARNING, "dead-lettering a queue job", entry_id.c_str(), reason.c_str());
    jobs_.add(writes_.Get().then([this, entry_id, payload, reason](RedisConnection* redis) {
      return redis
          ->CallOrThrow({"XADD", keys_.dead_letters(), "MAXLEN", "~", "10000", "*", "d", payload,
                         "entry", entry_id, "reason", reason})
          .ignoreResult();
    }));
    KJ_IF_MAYBE(job, Decode(entry_id, entry[1])) {
      Job& ref = **job;
      auto message = kj::heap<capnp::MallocMessageBuilder>();
      auto failed = StartReply(*message, ref).initResult().initOutcome().initFailed();
      failed.setStage(wire::Failure::Stage::INTERNAL);
      failed.setMessage(absl::StrCat("the queue gave up on this job: ", reason));
      capnp::MallocMessageBuilder& built = *message;
      held_.insert(entry_id);
      jobs_.add(Answer(ref, &built).attach(kj::mv(message), kj::mv(*job)));
    }
  }

  // ---- Telling clients what the workers run, and operators what they did -------------------

  kj::Promise<void> RegistrationLoop() {
    return writes_.Get()
        .then([this](RedisConnection* redis) {
          capnp::MallocMessageBuilder info;
          FillWorkerInfo(state_, info.initRoot<wire::WorkerInfo>());
          capnp::MallocMessageBuilder stats;
          FillWorkerStats(state_, stats.initRoot<wire::WorkerStats>());
          auto info_words = Serialize(info);
          auto stats_words = Serialize(stats);
          auto registered =
              kj::joinPromises(
                  kj::arr(redis->Call({"SET", keys_.info(), AsStringView(info_words), "PX",
                                       kRegistrationExpiryMs}),
                          redis->Call({"SET", keys_.worker(consumer_), AsStringView(stats_words),
                                       "PX", kRegistrationExpiryMs})))
                  .ignoreResult();
          // Only the metrics page shows the backlog: without it, no worker asks Redis for it.
          if (options_.metrics_address.empty()) return registered;
          auto backlog =
              kj::joinPromises(kj::arr(redis->Call({"XINFO", "GROUPS", keys_.jobs()}),
                                       redis->Call({"XLEN", keys_.jobs()})))
                  .then([this](kj::Array<RedisReply> replies) {
                    ReadBacklog(replies[0].value(), replies[1].value());
                  });
          return kj::joinPromises(kj::arr(kj::mv(registered), kj::mv(backlog)));
        })
        .catch_([](kj::Exception&&) {})
        .then([this] { return timer_.afterDelay(kRegistrationPeriod); })
        .then([this] { return RegistrationLoop(); });
  }

  // XINFO GROUPS answers one flat [field, value, ...] array per group; ours has the lag (entries
  // not yet delivered to any worker) and the pending count (delivered, not answered). Redis
  // answers a nil lag when deleted entries make it unknown; answered entries are deleted, so
  // then every entry in the stream that is not pending is waiting.
  void ReadBacklog(RedisValue groups, RedisValue length) {
    for (size_t g = 0; g < groups.size(); ++g) {
      RedisValue fields = groups[g];
      if (Field(fields, "name").value_or("") != kQueueGroup) continue;
      const uint64_t pending = std::max(0ll, IntegerField(fields, "pending", 0));
      const long long lag = IntegerField(fields, "lag", -1);
      const uint64_t entries = std::max(0ll, length.is_integer() ? length.integer() : 0);
      state_.counters.queue_pending = pending;
      state_.counters.queue_lag = lag >= 0 ? static_cast<uint64_t>(lag)
                                           : (entries > pending ? entries - pending : 0);
    }
  }

  class LogErrors final : public kj::TaskSet::ErrorHandler {
   public:
    void taskFailed(kj::Exception&& exception) override {
      if (exception.getType() != kj::Exception::Type::DISCONNECTED) {
        KJ_LOG(WARNING, "queue task failed", exception);
      }
    }
  };

  WorkerState& state_;
  kj::AsyncIoContext& io_;
  kj::Timer& timer_;
  const WorkerOptions& options_;
  const QueueKeys keys_;
  const std::string consumer_;
  RedisLink reads_;   // XREADGROUP BLOCK only: it holds whatever is queued behind it
  RedisLink writes_;  // everything else
  const size_t prefetch_;
  const kj::Duration visibility_;
  capnp::ReaderOptions reader_options_;
  // The queue's jobs, as one source for the job admission: bounded by the prefetch, and by the
  // worker's limit on jobs at once.
  kj::Own<JobAdmission::Source> admission_source_;
  bool group_ready_ = false;
  size_t running_ = 0;
  std::set<std::string> held_;  // entries this worker must keep claimed: running or unanswered
  kj::Own<kj::PromiseFulfiller<void>> slot_freed_;
  absl::flat_hash_map<std::string, std::chrono::steady_clock::time_point> clients_alive_;
  std::vector<PendingOutput> pending_outputs_;
  std::vector<PendingAnswer> pending_answers_;
  bool flush_scheduled_ = false;
  LogErrors log_errors_;
  kj::TaskSet jobs_{log_errors_};  // declared last: destroyed (cancelled) first
};

QueueConsumer::QueueConsumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QueueConsumer::~QueueConsumer() noexcept(false) = default;

absl::StatusOr<std::unique_ptr<QueueConsumer>> QueueConsumer::Create(WorkerState& state,
                                                                     kj::AsyncIoContext& io) {
  absl::StatusOr<RedisUrl> url = ParseRedisUrl(state.options.queue_url);
  if (!url.ok()) return url.status();
  if (absl::Status name = CheckQueueIdentifier("queue name", state.options.queue_name);
      !name.ok()) {
    return name;
  }
  if (state.options.queue_visibility_timeout_ms < 100) {
    return absl::InvalidArgumentError("the queue's visibility timeout must be at least 100 ms");
  }
  if (state.options.queue_max_deliveries == 0) {
    return absl::InvalidArgumentError("a queue job must be allowed at least one delivery");
  }
  return std::unique_ptr<QueueConsumer>(
      new QueueConsumer(std::make_unique<Impl>(state, io, *std::move(url))));
}

const std::string& QueueConsumer::consumer() const { return impl_->consumer(); }
std::string QueueConsumer::Description() const { return impl_->Description(); }
kj::Promise<void> QueueConsumer::Run() { return impl_->Run(); }

}  // namespace rexec
