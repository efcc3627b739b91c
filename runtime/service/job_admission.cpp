#include "runtime/service/job_admission.h"

#include <algorithm>

namespace rexec {

// A job waiting for a slot. It belongs to the promise Enter() returned: dropping that promise
// takes the job out of the queue.
struct JobAdmission::Waiter {
  Waiter(kj::Own<Source> waiting_source, kj::Own<kj::PromiseFulfiller<kj::Own<Slot>>> started)
      : source(kj::mv(waiting_source)), fulfiller(kj::mv(started)) {}
  ~Waiter() {
    if (queued) source->admission_.Withdraw(*this);
  }

  kj::Own<Source> source;
  kj::Own<kj::PromiseFulfiller<kj::Own<Slot>>> fulfiller;
  bool queued = true;
};

JobAdmission::JobAdmission(size_t max_running) : max_running_(std::max<size_t>(1, max_running)) {}

JobAdmission::~JobAdmission() = default;

kj::Own<JobAdmission::Source> JobAdmission::NewSource(size_t max_running) {
  return kj::refcounted<Source>(*this, max_running);
}

bool JobAdmission::MayStart(const Source& source) const {
  return running_ < max_running_ &&
         (source.max_running_ == 0 || source.running_ < source.max_running_);
}

kj::Own<JobAdmission::Slot> JobAdmission::Start(Source& source) {
  ++running_;
  ++source.running_;
  return kj::heap<Slot>(kj::addRef(source));
}

kj::Promise<kj::Own<JobAdmission::Slot>> JobAdmission::Enter(Source& source) {
  // Jobs of one source start in the order they came.
  if (source.waiting_.empty() && MayStart(source)) return Start(source);
  auto started = kj::newPromiseAndFulfiller<kj::Own<Slot>>();
  auto waiter = kj::heap<Waiter>(kj::addRef(source), kj::mv(started.fulfiller));
  if (source.waiting_.empty()) turns_.push_back(&source);
  source.waiting_.push_back(waiter.get());
  ++waiting_;
  return started.promise.attach(kj::mv(waiter));
}

JobAdmission::Slot::~Slot() { source_->admission_.Released(*source_); }

void JobAdmission::Released(Source& source) {
  --running_;
  --source.running_;
  StartWaiting();
}

void JobAdmission::Withdraw(Waiter& waiter) {
  Source& source = *waiter.source;
  source.waiting_.erase(std::find(source.waiting_.begin(), source.waiting_.end(), &waiter));
  --waiting_;
  if (source.waiting_.empty()) turns_.erase(std::find(turns_.begin(), turns_.end(), &source));
}

void JobAdmission::StartWaiting() {
  bool started = true;
  while (started && running_ < max_running_) {
    started = false;
    for (size_t turn = 0; turn < turns_.size(); ++turn) {
      Source& source = *turns_.front();
      turns_.pop_front();
      if (!MayStart(source)) {
        turns_.push_back(&source);
        continue;
      }
      Waiter& waiter = *source.waiting_.front();
      source.waiting_.pop_front();
      --waiting_;
      waiter.queued = false;
      if (!source.waiting_.empty()) turns_.push_back(&source);  // its next job waits its turn
      waiter.fulfiller->fulfill(Start(source));
      started = true;
      break;
    }
  }
}

}  // namespace rexec
