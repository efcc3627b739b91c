#include "runtime/service/worker_description.h"

#include "rexec/build_config.h"

namespace rexec {

void FillWorkerInfo(const WorkerState& state, wire::WorkerInfo::Builder info) {
  const TargetDescription& target = state.code.target();
  info.setProtocolVersion(wire::PROTOCOL_VERSION);
  info.setRexecVersion(kRexecVersion);
  info.setLlvmVersion(kLlvmVersion);
  info.setTriple(target.triple);
  info.setDataLayout(target.data_layout);
  info.setCpu(target.cpu);
  info.setMaxModuleBytes(state.options.max_module_bytes);
  info.setMaxStateBytes(state.options.max_state_bytes);
}

void FillWorkerStats(WorkerState& state, wire::WorkerStats::Builder stats) {
  BlobStoreStats modules = state.modules.stats();
  BlobStoreStats objects = state.objects.stats();
  CodeCacheStats code = state.code.stats();
  const WorkerCounters& counters = state.counters;
  stats.setModules(modules.memory_entries);
  stats.setModuleBytes(modules.memory_bytes);
  stats.setObjectCacheHits(code.object_hits);
  stats.setObjectCacheMisses(code.object_misses);
  stats.setObjectCacheBytes(objects.memory_bytes);
  stats.setObjectCacheEntries(objects.memory_entries);
  stats.setCompileUs(code.compile_us);
  stats.setLinkUs(code.link_us);
  stats.setJobsRun(counters.jobs_run);
  stats.setJobsFailed(counters.jobs_failed);
  stats.setLinkedModules(code.linked_modules);
  stats.setModuleDiskBytes(modules.disk_bytes);
  stats.setObjectDiskBytes(objects.disk_bytes);
  stats.setDiskEvictions(modules.disk_evictions + objects.disk_evictions);
  stats.setCorruptFilesRemoved(modules.corrupt_files_removed + objects.corrupt_files_removed);
  stats.setWorkers(1);
  stats.setQueueJobs(counters.queue_jobs);
  stats.setQueueGarbage(counters.queue_garbage);
  stats.setQueueExpired(counters.queue_expired);
  stats.setQueueReclaimed(counters.queue_reclaimed);
  stats.setQueueDeadLettered(counters.queue_dead_lettered);
  FileStoreStats files = state.files.stats();
  stats.setFileMissingChecks(counters.file_missing_checks);
  stats.setFileUploadBytes(counters.file_upload_bytes);
  stats.setFiles(files.files);
  stats.setFileBytes(files.bytes);
}

}  // namespace rexec
