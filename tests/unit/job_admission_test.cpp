#include "runtime/service/job_admission.h"

#include <gtest/gtest.h>
#include <kj/async.h>
#include <kj/vector.h>

#include <string>
#include <vector>

namespace rexec {
namespace {

TEST(JobAdmissionTest, RunsUpToTheWorkersLimitThenMakesJobsWait) {
  kj::EventLoop loop;
  kj::WaitScope wait_scope(loop);
  JobAdmission admission(2);
  auto source = admission.NewSource(0);
  auto first = admission.Enter(*source).wait(wait_scope);
  auto second = admission.Enter(*source).wait(wait_scope);
  auto third = admission.Enter(*source);
  EXPECT_FALSE(third.poll(wait_scope));
  EXPECT_EQ(admission.running(), 2u);
  EXPECT_EQ(admission.waiting(), 1u);
  first = nullptr;  // a job ends, whatever ended it
  ASSERT_TRUE(third.poll(wait_scope));
  auto slot = third.wait(wait_scope);
  EXPECT_EQ(admission.running(), 2u);
  EXPECT_EQ(admission.waiting(), 0u);
}

TEST(JobAdmissionTest, ASourceAtItsOwnLimitWaitsWhileOthersRun) {
  kj::EventLoop loop;
  kj::WaitScope wait_scope(loop);
  JobAdmission admission(4);
  auto greedy = admission.NewSource(1);
  auto other = admission.NewSource(1);
  auto running = admission.Enter(*greedy).wait(wait_scope);
  auto waiting = admission.Enter(*greedy);
  EXPECT_FALSE(waiting.poll(wait_scope));
  auto others = admission.Enter(*other);
  EXPECT_TRUE(others.poll(wait_scope));
}

TEST(JobAdmissionTest, SourcesTakeTurns) {
  kj::EventLoop loop;
  kj::WaitScope wait_scope(loop);
  JobAdmission admission(1);
  auto a = admission.NewSource(0);
  auto b = admission.NewSource(0);
  std::vector<std::string> started;
  kj::Vector<kj::Promise<void>> jobs;
  auto job = [&](JobAdmission::Source& source, std::string name) {
    jobs.add(admission.Enter(source)
                 .then([&started, name](kj::Own<JobAdmission::Slot> slot) {
                   started.push_back(name);
                   // The job ends on the next turn of the loop, freeing its slot.
                   return kj::evalLater([slot = kj::mv(slot)] {});
                 })
                 .eagerlyEvaluate(nullptr));
  };
  job(*a, "a1");
  job(*a, "a2");
  job(*a, "a3");
  job(*a, "a4");
  job(*b, "b1");
  kj::joinPromises(jobs.releaseAsArray()).wait(wait_scope);
  // First come first served would run b1 last.
  EXPECT_EQ(started, (std::vector<std::string>{"a1", "a2", "b1", "a3", "a4"}));
}

TEST(JobAdmissionTest, AJobThatStopsWaitingLeavesTheQueue) {
  kj::EventLoop loop;
  kj::WaitScope wait_scope(loop);
  JobAdmission admission(1);
  auto source = admission.NewSource(0);
  auto running = admission.Enter(*source).wait(wait_scope);
  {
    auto abandoned = admission.Enter(*source);
    EXPECT_EQ(admission.waiting(), 1u);
  }
  EXPECT_EQ(admission.waiting(), 0u);
  running = nullptr;
  EXPECT_EQ(admission.running(), 0u);
}

}  // namespace
}  // namespace rexec
