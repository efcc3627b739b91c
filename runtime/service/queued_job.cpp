#include "runtime/service/queued_job.h"

#include <kj/debug.h>

#include <cstring>

#include "queue/redis_fields.h"

namespace rexec {

capnp::ReaderOptions QueuedJobReaderOptions(const WorkerOptions& options) {
  capnp::ReaderOptions reader_options;
  reader_options.traversalLimitInWords =
      (options.max_state_bytes + options.max_stdin_bytes) / 8 + (1 << 20);
  return reader_options;
}

absl::StatusOr<kj::Own<QueuedJobEntry>> DecodeQueuedJob(std::string entry_id, RedisValue fields,
                                                        const WorkerOptions& options,
                                                        const capnp::ReaderOptions& reader_options,
                                                        const QueueKeys& keys) {
  auto job = kj::heap<QueuedJobEntry>();
  job->entry_id = std::move(entry_id);
  std::optional<std::string_view> payload = Field(fields, "d");
  if (!payload.has_value()) return absl::InvalidArgumentError("no 'd' field");
  if (payload->size() % sizeof(capnp::word) != 0 || payload->empty()) {
    return absl::InvalidArgumentError("payload is not a whole number of words");
  }
  job->words = kj::heapArray<capnp::word>(payload->size() / sizeof(capnp::word));
  std::memcpy(job->words.begin(), payload->data(), payload->size());
  KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&] {
                job->message = kj::heap<capnp::FlatArrayMessageReader>(job->words, reader_options);
                job->queued = job->message->getRoot<wire::QueuedJob>();
                auto queued = job->queued;
                KJ_REQUIRE(queued.getVersion() == wire::QUEUE_FORMAT_VERSION,
                           "unknown queue format version", queued.getVersion());
                job->job_id = queued.getId();
                KJ_REQUIRE(!job->job_id.empty() && job->job_id.size() <= 256, "bad job id");
                std::string client = queued.getClient();
                absl::Status valid = CheckQueueIdentifier("client id", client);
                KJ_REQUIRE(valid.ok(), std::string(valid.message()).c_str());
                KJ_REQUIRE(queued.getStdin().size() <= options.max_stdin_bytes,
                           "stdin larger than this worker accepts");
                KJ_REQUIRE(queued.getJob().getModule().size() == ContentHash::kSize,
                           "a module hash must be 32 bytes");
                job->reply_stream = keys.reply(client);
              })) {
    return absl::InvalidArgumentError(exception->getDescription().cStr());
  }
  return kj::mv(job);
}

}  // namespace rexec
