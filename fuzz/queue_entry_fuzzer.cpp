// Fuzz target: a job entry of a queue's Redis stream, which any client of that Redis can write,
// taken as the queue consumer takes it (runtime/service/queue_consumer.cpp): the entry's fields
// decoded into a job (runtime/service/queued_job.h), then the job checked as RunJob checks it
// before running anything (runtime/service/request_checks.h).
//
// Input: the entry as Redis sends it to XREADGROUP, in RESP: an array of its id and its flat
// [field, value, ...] array, read by hiredis's reply parser as the worker's connection reads it.
#include <hiredis/hiredis.h>
#include <kj/exception.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "queue/queue_keys.h"
#include "queue/redis_connection.h"
#include "rexec/content_hash.h"
#include "rexec/worker.h"
#include "runtime/service/queued_job.h"
#include "runtime/service/request_checks.h"

namespace {

// RESP announces an array's length before its elements, and hiredis allocates for it at once: a
// header claiming 300 million elements costs 2.4 GB before any of them arrives (the first thing
// this target found). Only Redis itself writes that header, for elements it then sends; the
// clients who write entries cannot inflate it. So, as in a real reply, a length is bounded here
// by the bytes that could hold its elements, and the fuzzer spends its time on the entries.
size_t input_size = 0;
void* (*create_array)(const redisReadTask*, int) = nullptr;

void* CreateBoundedArray(const redisReadTask* task, int elements) {
  if (elements < 0 || static_cast<size_t>(elements) > input_size) return nullptr;  // "OOM"
  return create_array(task, elements);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(),
                                                              &redisReaderFree);
  static redisReplyObjectFunctions bounded = [&] {
    redisReplyObjectFunctions functions = *reader->fn;  // hiredis's own reply objects
    create_array = functions.createArray;
    functions.createArray = &CreateBoundedArray;
    return functions;
  }();
  reader->fn = &bounded;
  input_size = size;
  if (redisReaderFeed(reader.get(), reinterpret_cast<const char*>(data), size) != REDIS_OK) {
    return 0;
  }
  void* raw = nullptr;
  if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK || raw == nullptr) return 0;
  std::unique_ptr<void, void (*)(void*)> reply(raw, &freeReplyObject);
  rexec::RedisValue entry(static_cast<const redisReply*>(raw));

  static const rexec::WorkerOptions options;
  static const capnp::ReaderOptions reader_options = rexec::QueuedJobReaderOptions(options);
  static const rexec::QueueKeys keys(options.queue_name);
  std::string entry_id(entry[0].str());
  if (entry[1].is_nil()) return 0;  // a deleted entry: acknowledged, nothing decoded
  absl::StatusOr<kj::Own<rexec::QueuedJobEntry>> job =
      rexec::DecodeQueuedJob(entry_id, entry[1], options, reader_options, keys);
  if (!job.ok()) return 0;

  rexec::QueuedJobEntry& taken = **job;
  // The consumer fetches the module by this hash without checking it again.
  auto module = taken.queued.getJob().getModule();
  if (!rexec::ContentHash::FromBytes(
           {reinterpret_cast<const char*>(module.begin()), module.size()})) {
    std::abort();
  }
  kj::runCatchingExceptions([&] {
    rexec::CheckJob(taken.queued.getJob(), options,
                    /*output_in_result=*/!taken.queued.getStreamOutput());
  });
  return 0;
}
