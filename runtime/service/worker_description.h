// What a worker says about itself, the same through either front door: its target and bounds
// (WorkerInfo, what clients compile for) and its counters (WorkerStats).
#pragma once

#include "runtime/service/job_runner.h"
#include "schema/rexec.capnp.h"

namespace rexec {

void FillWorkerInfo(const WorkerState& state, wire::WorkerInfo::Builder info);
void FillWorkerStats(WorkerState& state, wire::WorkerStats::Builder stats);

}  // namespace rexec
