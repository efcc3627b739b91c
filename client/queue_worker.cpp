#include "client/queue_worker.h"

#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/debug.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "queue/queue_keys.h"
#include "queue/redis_link.h"
#include "rexec/content_hash.h"
#include "schema/queue.capnp.h"

namespace rexec {
namespace {

constexpr uint32_t kStdinChunk = 1 << 20;
constexpr char kModuleExpirySeconds[] = "604800";  // a week; workers refresh it on use
constexpr char kFileExpirySeconds[] = "604800";    // a week from its upload
constexpr char kUploadExpirySeconds[] = "3600";    // an upload given up leaves nothing for long
// A Redis string holds at most 512 MB.
constexpr uint64_t kMaxQueuedFileBytes = 512ull << 20;
constexpr size_t kMaxFileChunkBytes = 4 << 20;
constexpr char kAliveExpiryMs[] = "5000";
constexpr kj::Duration kAlivePeriod = 1 * kj::SECONDS;
constexpr char kReadBlockMs[] = "1000";
constexpr char kReadCount[] = "512";
// Slack for clocks, Redis round trips and process start on top of a job's own limits.
constexpr kj::Duration kGrace = 5 * kj::SECONDS;
// Defaults for a queue no worker has registered with yet (the protocol's own defaults).
constexpr uint64_t kDefaultMaxModuleBytes = 64ull << 20;
constexpr uint64_t kDefaultMaxStateBytes = 16ull << 20;
// A reply holds at most a result with buffered output and state; bound what we decode.
constexpr uint64_t kMaxReplyWords = (256ull << 20) / 8;
constexpr size_t kMaxHashesPerQuery = 4096;

// Answers a findMissing question: the hashes of `asked` that are not `held`, in order.
template <typename Results>
void SetMissing(Results results, capnp::List<capnp::Data>::Reader asked,
                kj::ArrayPtr<const bool> held) {
  std::vector<capnp::Data::Reader> missing;
  for (size_t i = 0; i < held.size(); ++i) {
    if (!held[i]) missing.push_back(asked[i]);
  }
  auto list = results.initMissing(missing.size());
  for (size_t i = 0; i < missing.size(); ++i) list.set(i, missing[i]);
}

std::string_view AsStringView(kj::ArrayPtr<const kj::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.begin()), bytes.size()};
}

// A message read from Redis bytes, which it keeps alive.
struct StoredMessage {
  kj::Array<capnp::word> words;
  kj::Own<capnp::FlatArrayMessageReader> reader;
};

// Null unless `bytes` is a whole number of words that capnp accepts within the bound.
kj::Own<StoredMessage> ReadMessage(std::string_view bytes) {
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) return {};
  auto message = kj::heap<StoredMessage>();
  message->words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(message->words.begin(), bytes.data(), bytes.size());
  capnp::ReaderOptions options;
  options.traversalLimitInWords = kMaxReplyWords;
  message->reader = kj::heap<capnp::FlatArrayMessageReader>(message->words, options);
  return message;
}

// Adds every unsigned counter of `from` to `into`: the fleet's stats are the workers' summed.
void AddCounters(wire::WorkerStats::Reader from, wire::WorkerStats::Builder into) {
  capnp::DynamicStruct::Reader source = from;
  capnp::DynamicStruct::Builder target = into;
  for (capnp::StructSchema::Field field : source.getSchema().getFields()) {
    if (field.getType().which() != capnp::schema::Type::UINT64) continue;
    target.set(field, target.get(field).as<uint64_t>() + source.get(field).as<uint64_t>());
  }
}

class QueueWorker final : public wire::Worker::Server {
 public:
  QueueWorker(kj::AsyncIoContext& io, QueueClientOptions options, RedisUrl url)
      : timer_(io.provider->getTimer()),
        options_(std::move(options)),
        keys_(options_.name),
        client_id_(UniqueParticipantName()),
        reply_stream_(keys_.reply(client_id_)),
        alive_key_(keys_.client_alive(client_id_)),
        reads_(*io.provider, timer_, url, "reply reads"),
        writes_(*io.provider, timer_, url, "queue writes") {}

  ~QueueWorker() noexcept(false) {
    for (auto& [id, job] : jobs_) {
      job->done->reject(KJ_EXCEPTION(DISCONNECTED, "the client is closing"));
    }
  }

  kj::Promise<void> Start() {
    return writes_.ConnectOnce()
        .then([this](RedisConnection* redis) {
          return redis->CallOrThrow({"SET", alive_key_, "1", "PX", kAliveExpiryMs});
        })
        .then([this](RedisReply) {
          tasks_.add(ReplyLoop());
          tasks_.add(AliveLoop());
        });
  }

  kj::Promise<void> info(InfoContext context) override {
    return Redis()
        .then([this](RedisConnection* redis) { return redis->CallOrThrow({"GET", keys_.info()}); })
        .then([this, context](RedisReply reply) mutable {
          kj::Own<StoredMessage> registered = ReadMessage(reply.str());
          if (registered.get() != nullptr) {
            context.getResults().setInfo(registered->reader->getRoot<wire::WorkerInfo>());
            return;
          }
          // No worker yet: compile for this machine (an empty triple); jobs wait for workers.
          auto info = context.getResults().initInfo();
          info.setProtocolVersion(wire::PROTOCOL_VERSION);
          info.setMaxModuleBytes(kDefaultMaxModuleBytes);
          info.setMaxStateBytes(kDefaultMaxStateBytes);
        });
  }

  kj::Promise<void> findMissing(FindMissingContext context) override {
    auto modules = context.getParams().getModules();
    KJ_REQUIRE(modules.size() <= kMaxHashesPerQuery, "too many hashes in one query");
    auto keys = KJ_MAP(module, modules) {
      std::optional<ContentHash> hash = ContentHash::FromBytes(AsStringView(module));
      KJ_REQUIRE(hash.has_value(), "a module hash must be 32 bytes");
      return keys_.module(*hash);
    };
    return Held(kj::mv(keys)).then([this, context, modules](kj::Array<bool> held) mutable {
      for (size_t i = 0; i < held.size(); ++i) {
        if (held[i]) known_modules_.insert(std::string(AsStringView(modules[i])));
      }
      SetMissing(context.getResults(), modules, held);
    });
  }

  kj::Promise<void> upload(UploadContext context) override {
    auto params = context.getParams();
    std::optional<ContentHash> hash = ContentHash::FromBytes(AsStringView(params.getHash()));
    KJ_REQUIRE(hash.has_value(), "a module hash must be 32 bytes");
    capnp::Data::Reader bitcode = params.getBitcode();
    KJ_REQUIRE(ContentHash::Of(AsStringView(bitcode)) == *hash,
               "module bytes do not match their hash");
    return Redis()
        .then([this, hash = *hash, bitcode](RedisConnection* redis) {
          // NX: stored once, however many clients send it.
          return redis->CallOrThrow({"SET", keys_.module(hash), AsStringView(bitcode), "NX", "EX",
                                     kModuleExpirySeconds});
        })
        .then([this, hash = *hash](RedisReply) {
          known_modules_.insert(std::string(hash.bytes()));
        });
  }

  kj::Promise<void> findMissingFiles(FindMissingFilesContext context) override {
    auto files = context.getParams().getFiles();
    KJ_REQUIRE(files.size() <= kMaxHashesPerQuery, "too many hashes in one query");
    auto keys = KJ_MAP(file, files) {
      std::optional<ContentHash> hash = ContentHash::FromBytes(AsStringView(file));
      KJ_REQUIRE(hash.has_value(), "a file hash must be 32 bytes");
      return keys_.file(*hash);
    };
    return Held(kj::mv(keys)).then([context, files](kj::Array<bool> held) mutable {
      SetMissing(context.getResults(), files, held);
    });
  }

  // Whether Redis holds each of `keys` (one EXISTS each, pipelined), in order.
  kj::Promise<kj::Array<bool>> Held(kj::Array<std::string> keys) {
    return Redis().then([keys = kj::mv(keys)](RedisConnection* redis) {
      auto checks = KJ_MAP(key, keys) { return redis->CallOrThrow({"EXISTS", key}); };
      return kj::joinPromises(kj::mv(checks)).then([](kj::Array<RedisReply> present) {
        return KJ_MAP(reply, present) { return reply.value().integer() != 0; };
      });
    });
  }

  kj::Promise<void> uploadFile(UploadFileContext context) override {
    auto params = context.getParams();
    std::optional<ContentHash> hash = ContentHash::FromBytes(AsStringView(params.getHash()));
    KJ_REQUIRE(hash.has_value(), "a file hash must be 32 bytes");
    KJ_REQUIRE(params.getSize() <= kMaxQueuedFileBytes,
               "an input file larger than 512M cannot travel through Redis: use a direct worker");
    context.getResults().setSink(kj::heap<QueueFileSink>(*this, *hash, params.getSize()));
    return kj::READY_NOW;
  }

  kj::Promise<void> run(RunContext context) override {
    context.allowCancellation();
    auto params = context.getParams();
    auto job = params.getJob();
    std::optional<ContentHash> hash = ContentHash::FromBytes(AsStringView(job.getModule()));
    KJ_REQUIRE(hash.has_value(), "a module hash must be 32 bytes");
    kj::Maybe<wire::JobIo::Client> io = nullptr;
    if (params.hasIo()) io = params.getIo();

    return HasCode(*hash, job.getLibraries()).then([this, context, job, io = kj::mv(io)](
                                                       bool present) mutable -> kj::Promise<void> {
      if (!present) {
        context.getResults().initResult().initOutcome().setMissingModule();
        return kj::READY_NOW;
      }
      auto stdin_bytes = kj::heap<kj::Vector<kj::byte>>();
      kj::Promise<void> read = kj::READY_NOW;
      KJ_IF_MAYBE(client_io, io) { read = ReadStdin(*client_io, *stdin_bytes); }
      return read.then([this, context, job, io = kj::mv(io),
                        stdin_bytes = kj::mv(stdin_bytes)]() mutable {
        return Submit(job, *stdin_bytes, kj::mv(io))
            .then([context](kj::Own<StoredMessage> reply) mutable {
              context.getResults().setResult(
                  reply->reader->getRoot<wire::QueueReply>().getResult());
            });
      });
    });
  }

  kj::Promise<void> stats(StatsContext context) override {
    return Redis().then([this, context](RedisConnection* redis) mutable {
      return ScanWorkers(*redis, "0", kj::heap<std::vector<std::string>>())
          .then([this, context](kj::Own<std::vector<std::string>> keys) mutable
                -> kj::Promise<void> {
            auto total = context.getResults().initStats();
            if (keys->empty()) return kj::READY_NOW;
            return Redis().then([this, context, keys = kj::mv(keys)](RedisConnection* redis) mutable {
              std::vector<std::string_view> args = {"MGET"};
              for (const std::string& key : *keys) args.push_back(key);
              return redis->CallOrThrow(args).then([context](RedisReply values) mutable {
                auto total = context.getResults().getStats();
                for (size_t i = 0; i < values.value().size(); ++i) {
                  kj::Own<StoredMessage> stats = ReadMessage(values.value()[i].str());
                  if (stats.get() == nullptr) continue;  // expired between SCAN and MGET
                  AddCounters(stats->reader->getRoot<wire::WorkerStats>(), total);
                }
              });
            });
          });
    });
  }

  kj::Promise<void> ping(PingContext) override {
    return Redis()
        .then([](RedisConnection* redis) { return redis->CallOrThrow({"PING"}); })
        .ignoreResult();
  }

 private:
  struct Job {
    kj::Own<kj::PromiseFulfiller<kj::Own<StoredMessage>>> done;
    kj::Maybe<wire::JobIo::Client> io;
    kj::Promise<void> output = kj::READY_NOW;  // writes to `io`, in order
    std::string worker;                        // who runs it, once known
    uint32_t wall_time_ms = 0;
    kj::Promise<void> watchdog = nullptr;
  };

  kj::Promise<RedisConnection*> Redis() { return writes_.Get(); }

  // An input file on its way into Redis: appended chunk by chunk to an upload key of this
  // client's, renamed to the file's key once complete. Workers check its hash when they fetch it.
  class QueueFileSink final : public wire::FileSink::Server {
   public:
    QueueFileSink(QueueWorker& queue, const ContentHash& hash, uint64_t size)
        : queue_(queue),
          size_(size),
          upload_key_(queue.keys_.file_upload(hash, queue.client_id_)),
          file_key_(queue.keys_.file(hash)) {}

    kj::Promise<void> write(WriteContext context) override {
      capnp::Data::Reader data = context.getParams().getData();
      KJ_REQUIRE(data.size() <= kMaxFileChunkBytes, "a file chunk larger than 4M");
      KJ_REQUIRE(data.size() <= size_ - written_, "the file is larger than announced");
      const bool first = written_ == 0;
      written_ += data.size();
      return queue_.Redis().then([this, context, first](RedisConnection* redis) mutable {
        auto appended =
            redis->CallOrThrow({"APPEND", upload_key_, AsStringView(context.getParams().getData())});
        if (!first) return appended.ignoreResult();
        return appended.then([this, redis](RedisReply) {
          return redis->CallOrThrow({"EXPIRE", upload_key_, kUploadExpirySeconds}).ignoreResult();
        });
      });
    }

    kj::Promise<void> done(DoneContext) override {
      KJ_REQUIRE(written_ == size_, "the file ended before its announced size");
      return queue_.Redis().then([this](RedisConnection* redis) {
        kj::Promise<RedisReply> stored =
            size_ == 0 ? redis->CallOrThrow({"SET", file_key_, "", "EX", kFileExpirySeconds})
                       : redis->CallOrThrow({"RENAME", upload_key_, file_key_}).then(
                             [this, redis](RedisReply) {
                               return redis->CallOrThrow(
                                   {"EXPIRE", file_key_, kFileExpirySeconds});
                             });
        return stored.ignoreResult();
      });
    }

   private:
    QueueWorker& queue_;
    const uint64_t size_;
    uint64_t written_ = 0;
    const std::string upload_key_;
    const std::string file_key_;
  };

  kj::Promise<bool> HasModule(const ContentHash& hash) {
    std::string key(hash.bytes());
    if (known_modules_.contains(key)) return true;
    return Redis()
        .then([this, hash](RedisConnection* redis) {
          return redis->CallOrThrow({"EXISTS", keys_.module(hash)});
        })
        .then([this, key](RedisReply reply) {
          bool present = reply.value().integer() == 1;
          if (present) known_modules_.insert(key);
          return present;
        });
  }

  // Whether Redis holds the module and every library shipped with it (uploaded under their
  // hashes like modules).
  kj::Promise<bool> HasCode(const ContentHash& module,
                            capnp::List<wire::Library>::Reader libraries) {
    kj::Vector<kj::Promise<bool>> checks;
    checks.add(HasModule(module));
    for (wire::Library::Reader library : libraries) {
      if (library.isSystem()) continue;
      std::optional<ContentHash> hash = ContentHash::FromBytes(
          AsStringView(library.isArchive() ? library.getArchive() : library.getObject()));
      KJ_REQUIRE(hash.has_value(), "a library hash must be 32 bytes");
      checks.add(HasModule(*hash));
    }
    return kj::joinPromises(checks.releaseAsArray()).then([](kj::Array<bool> present) {
      for (bool each : present) {
        if (!each) return false;
      }
      return true;
    });
  }

  // A queued program carries its whole stdin: there is no connection back to the client.
  kj::Promise<void> ReadStdin(wire::JobIo::Client io, kj::Vector<kj::byte>& into) {
    auto request = io.readRequest();
    request.setMaxBytes(kStdinChunk);
    return request.send().then([this, io, &into](capnp::Response<wire::JobIo::ReadResults> r) mutable
                               -> kj::Promise<void> {
      capnp::Data::Reader data = r.getData();
      if (data.size() == 0) return kj::READY_NOW;
      if (into.size() + data.size() > options_.max_stdin_bytes) {
        KJ_FAIL_REQUIRE(kj::str("standard input is larger than the ", options_.max_stdin_bytes,
                                " bytes a queued job may carry; pass the data as a file or "
                                "use a direct worker")
                            .cStr());
      }
      into.addAll(data);
      return ReadStdin(kj::mv(io), into);
    });
  }

  kj::Promise<kj::Own<StoredMessage>> Submit(wire::Job::Reader job,
                                             kj::ArrayPtr<const kj::byte> stdin_bytes,
                                             kj::Maybe<wire::JobIo::Client> io) {
    std::string id = absl::StrCat(client_id_, ":", ++submitted_);
    capnp::MallocMessageBuilder message;
    auto queued = message.initRoot<wire::QueuedJob>();
    queued.setVersion(wire::QUEUE_FORMAT_VERSION);
    queued.setId(id);
    queued.setClient(client_id_);
    queued.setDeadlineMs(UnixMilliseconds() + options_.queue_wait_ms);
    queued.setJob(job);
    queued.setStdin(stdin_bytes);
    queued.setStreamOutput(io != nullptr);
    kj::Array<capnp::word> words = capnp::messageToFlatArray(message);

    auto paf = kj::newPromiseAndFulfiller<kj::Own<StoredMessage>>();
    auto pending = kj::heap<Job>();
    pending->done = kj::mv(paf.fulfiller);
    pending->io = kj::mv(io);
    pending->wall_time_ms = job.getLimits().getWallTimeMs();
    // Taken within the queue wait, or an error: the job's own deadline stops workers from
    // starting it later, so giving up here never leaves it to run behind the caller's back.
    pending->watchdog = Expire(id, options_.queue_wait_ms * kj::MILLISECONDS + kGrace,
                               absl::StrCat("no worker took the job within ",
                                            options_.queue_wait_ms / 1000, " s (is a worker "
                                            "serving queue '", options_.name, "' at ",
                                            writes_.url().Redacted(), "?)"));
    jobs_.emplace(id, kj::mv(pending));

    tasks_.add(Redis()
                   .then([this, words = kj::mv(words)](RedisConnection* redis) {
                     return redis->CallOrThrow(
                         {"XADD", keys_.jobs(), "*", "d", AsStringView(words.asBytes())});
                   })
                   .then([](RedisReply) {},
                         [this, id](kj::Exception&& exception) { Finish(id, kj::mv(exception)); }));
    // Whatever ends the wait, the job is forgotten: a late reply for it is dropped.
    return paf.promise.attach(kj::defer([this, id] { jobs_.erase(id); }));
  }

  // A watchdog that fails job `id` with `message` after `delay`.
  kj::Promise<void> Expire(const std::string& id, kj::Duration delay, std::string message) {
    return timer_.afterDelay(delay)
        .then([this, id, message = kj::mv(message)] {
          Finish(id, KJ_EXCEPTION(DISCONNECTED, message.c_str()));
        })
        .eagerlyEvaluate(nullptr);
  }

  void Finish(const std::string& id, kj::Exception exception) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    it->second->done->reject(kj::mv(exception));
  }

  // ---- Replies -----------------------------------------------------------------------------

  kj::Promise<void> ReplyLoop() {
    return reads_.Get()
        .then([this](RedisConnection* redis) {
          return redis->CallOrThrow(
              {"XREAD", "COUNT", kReadCount, "BLOCK", kReadBlockMs, "STREAMS", reply_stream_,
               last_reply_});
        })
        .then([this](RedisReply reply) -> kj::Promise<void> {
          RedisValue streams = reply.value();
          for (size_t s = 0; s < streams.size(); ++s) {
            RedisValue entries = streams[s][1];
            for (size_t e = 0; e < entries.size(); ++e) {
              last_reply_ = std::string(entries[e][0].str());
              std::optional<std::string_view> payload;
              RedisValue fields = entries[e][1];
              for (size_t f = 0; f + 1 < fields.size(); f += 2) {
                if (fields[f].str() == "d") payload = fields[f + 1].str();
              }
              if (payload.has_value()) Deliver(*payload);
            }
          }
          if (streams.size() > 0) {
            // Read replies are not needed again: keep the stream short.
            tasks_.add(Redis().then([this, upto = last_reply_](RedisConnection* redis) {
              return redis->Call({"XTRIM", reply_stream_, "MINID", upto}).ignoreResult();
            }));
          }
          return kj::READY_NOW;
        },
        [this](kj::Exception&&) {
          return timer_.afterDelay(100 * kj::MILLISECONDS);  // the link reconnects
        })
        .then([this] { return ReplyLoop(); });
  }

  void Deliver(std::string_view payload) {
    kj::Own<StoredMessage> message;
    wire::QueueReply::Reader reply;
    std::string job_id;
    KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&] {
                  message = ReadMessage(payload);
                  KJ_REQUIRE(message.get() != nullptr, "not a message");
                  reply = message->reader->getRoot<wire::QueueReply>();
                  job_id = reply.getJobId();
                })) {
      KJ_LOG(WARNING, "skipping a reply that is not one", exception->getDescription());
      return;
    }
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return;  // a duplicate, or for a job that stopped waiting
    Job& job = *it->second;
    std::string worker = reply.getWorker();
    if (!job.worker.empty() && job.worker != worker) {
      Output(job, wire::OutputStream::STDERR,
             "rexec: the job's worker stopped answering; another worker restarted it\n");
    }
    if (job.worker != worker) {
      job.worker = worker;
      // Under way: from now on only its own time limit bounds the wait (if it has one).
      job.watchdog = job.wall_time_ms == 0
                         ? kj::Promise<void>(kj::NEVER_DONE)
                         : Expire(job_id, job.wall_time_ms * kj::MILLISECONDS + kGrace,
                                  "the job's worker stopped answering before its time limit");
    }
    switch (reply.which()) {
      case wire::QueueReply::OUTPUT: {
        auto chunk = reply.getOutput();
        Output(job, chunk.getStream(), AsStringView(chunk.getData()));
        break;
      }
      case wire::QueueReply::RESULT:
        // After the output before it: a result never overtakes what the job printed.
        job.output = job.output
                         .then([&job, message = kj::mv(message)]() mutable {
                           job.done->fulfill(kj::mv(message));
                         })
                         .eagerlyEvaluate([&job](kj::Exception&& exception) {
                           job.done->reject(kj::mv(exception));
                         });
        break;
      default:
        break;  // started, or a kind from a newer worker
    }
  }

  void Output(Job& job, wire::OutputStream stream, std::string_view data) {
    KJ_IF_MAYBE(io, job.io) {
      auto request = io->writeRequest();
      request.setStream(stream);
      request.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(data.data()), data.size()));
      job.output = job.output
                       .then([request = kj::mv(request)]() mutable {
                         return request.send();  // a streaming call: flow control, no result
                       })
                       .eagerlyEvaluate(nullptr);
    }
  }

  // Keeps this client's liveness key, so workers skip its jobs once it is gone. The key is only
  // refreshed, never recreated (XX): finding it missing means Redis lost the queue's contents,
  // and with them every job this client waits for.
  kj::Promise<void> AliveLoop() {
    return timer_.afterDelay(kAlivePeriod)
        .then([this] { return Redis(); })
        .then([this](RedisConnection* redis) {
          return redis->CallOrThrow({"SET", alive_key_, "1", "PX", kAliveExpiryMs, "XX"})
              .then([this, redis](RedisReply reply) -> kj::Promise<void> {
                if (!reply.value().is_nil()) return kj::READY_NOW;
                std::vector<std::string> lost;
                for (auto& [id, job] : jobs_) lost.push_back(id);
                for (const std::string& id : lost) {
                  Finish(id, KJ_EXCEPTION(DISCONNECTED,
                                          "Redis lost the queue's contents (restarted without "
                                          "persistence?): the job's request or result is gone"));
                }
                return redis->CallOrThrow({"SET", alive_key_, "1", "PX", kAliveExpiryMs})
                    .ignoreResult();
              });
        })
        .catch_([](kj::Exception&&) {})
        .then([this] { return AliveLoop(); });
  }

  kj::Promise<kj::Own<std::vector<std::string>>> ScanWorkers(
      RedisConnection& redis, std::string cursor, kj::Own<std::vector<std::string>> keys) {
    return redis.CallOrThrow({"SCAN", cursor, "MATCH", keys_.worker_pattern(), "COUNT", "1000"})
        .then([this, &redis, keys = kj::mv(keys)](RedisReply reply) mutable
              -> kj::Promise<kj::Own<std::vector<std::string>>> {
          RedisValue page = reply.value();
          for (size_t i = 0; i < page[1].size(); ++i) keys->emplace_back(page[1][i].str());
          std::string next(page[0].str());
          if (next == "0" || next.empty()) return kj::mv(keys);
          return ScanWorkers(redis, next, kj::mv(keys));
        });
  }

  class IgnoreErrors final : public kj::TaskSet::ErrorHandler {
   public:
    void taskFailed(kj::Exception&&) override {}
  };

  kj::Timer& timer_;
  const QueueClientOptions options_;
  const QueueKeys keys_;
  const std::string client_id_;
  const std::string reply_stream_;
  const std::string alive_key_;
  RedisLink reads_;   // XREAD BLOCK on the reply stream only
  RedisLink writes_;  // everything else
  absl::flat_hash_set<std::string> known_modules_;  // raw hash bytes of modules Redis holds
  absl::flat_hash_map<std::string, kj::Own<Job>> jobs_;
  uint64_t submitted_ = 0;
  std::string last_reply_ = "0";
  IgnoreErrors ignore_errors_;
  kj::TaskSet tasks_{ignore_errors_};  // declared last: cancelled first
};

}  // namespace

kj::Promise<kj::Own<wire::Worker::Server>> ConnectQueueWorker(kj::AsyncIoContext& io,
                                                               QueueClientOptions options) {
  absl::StatusOr<RedisUrl> url = ParseRedisUrl(options.url);
  if (!url.ok()) return KJ_EXCEPTION(FAILED, std::string(url.status().message()).c_str());
  if (absl::Status name = CheckQueueIdentifier("queue name", options.name); !name.ok()) {
    return KJ_EXCEPTION(FAILED, std::string(name.message()).c_str());
  }
  auto worker = kj::heap<QueueWorker>(io, std::move(options), *std::move(url));
  QueueWorker& ref = *worker;
  return ref.Start().then([worker = kj::mv(worker)]() mutable -> kj::Own<wire::Worker::Server> {
    return kj::mv(worker);
  });
}

}  // namespace rexec
