// The registry's page, checked character for character against the text exposition format.
#include "runtime/service/metrics_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kj/exception.h>

#include <cmath>
#include <thread>
#include <vector>

namespace rexec {
namespace {

using ::testing::HasSubstr;

TEST(MetricsRegistryTest, RendersACounter) {
  MetricsRegistry metrics;
  auto uploads = metrics.AddCounter("rexec_uploads_total", "Modules uploaded.");
  ASSERT_TRUE(uploads.ok()) << uploads.status();
  (*uploads)->Increment();
  (*uploads)->Increment(2);
  EXPECT_EQ(metrics.Render(),
            "# HELP rexec_uploads_total Modules uploaded.\n"
            "# TYPE rexec_uploads_total counter\n"
            "rexec_uploads_total 3\n");
}

TEST(MetricsRegistryTest, RendersLargeAndFractionalValuesWithoutLosingDigits) {
  MetricsRegistry metrics;
  auto bytes = metrics.AddCounter("rexec_bytes_total", "Bytes.");
  auto seconds = metrics.AddCounter("rexec_seconds_total", "Seconds.");
  ASSERT_TRUE(bytes.ok() && seconds.ok());
  (*bytes)->Increment(1234567890123.0);
  (*seconds)->Increment(0.1);
  (*seconds)->Increment(0.00001);
  EXPECT_EQ(metrics.Render(),
            "# HELP rexec_bytes_total Bytes.\n"
            "# TYPE rexec_bytes_total counter\n"
            "rexec_bytes_total 1234567890123\n"
            "# HELP rexec_seconds_total Seconds.\n"
            "# TYPE rexec_seconds_total counter\n"
            "rexec_seconds_total 0.10001\n");
}

TEST(MetricsRegistryTest, RendersALabelledCounterSortedByValue) {
  MetricsRegistry metrics;
  auto jobs = metrics.AddLabeledCounter("rexec_jobs_total", "Jobs finished, by outcome.",
                                        "outcome");
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  (*jobs)->Increment("signaled");
  (*jobs)->Increment("exited");
  (*jobs)->Increment("exited");
  (*jobs)->Increment("timed_out", 0);  // visible at zero before its first event
  EXPECT_EQ(metrics.Render(),
            "# HELP rexec_jobs_total Jobs finished, by outcome.\n"
            "# TYPE rexec_jobs_total counter\n"
            "rexec_jobs_total{outcome=\"exited\"} 2\n"
            "rexec_jobs_total{outcome=\"signaled\"} 1\n"
            "rexec_jobs_total{outcome=\"timed_out\"} 0\n");
}

TEST(MetricsRegistryTest, RendersGaugesSetAndComputedAtRenderTime) {
  MetricsRegistry metrics;
  auto connections = metrics.AddGauge("rexec_connections", "Open client connections.");
  ASSERT_TRUE(connections.ok());
  (*connections)->Set(5);
  (*connections)->Add(-2);
  int executors = 4;
  ASSERT_TRUE(metrics
                  .AddGaugeCallback("rexec_executors_alive", "Executor processes running.",
                                    [&executors] { return static_cast<double>(executors); })
                  .ok());
  std::string before = metrics.Render();
  EXPECT_EQ(before,
            "# HELP rexec_connections Open client connections.\n"
            "# TYPE rexec_connections gauge\n"
            "rexec_connections 3\n"
            "# HELP rexec_executors_alive Executor processes running.\n"
            "# TYPE rexec_executors_alive gauge\n"
            "rexec_executors_alive 4\n");
  executors = 7;
  EXPECT_THAT(metrics.Render(), HasSubstr("\nrexec_executors_alive 7\n"));
}

TEST(MetricsRegistryTest, RendersCountersKeptElsewhereAsCounters) {
  MetricsRegistry metrics;
  uint64_t jobs = 3;
  ASSERT_TRUE(metrics
                  .AddCounterCallback("rexec_queue_jobs_total", "Jobs taken from the queue.",
                                      [&jobs] { return static_cast<double>(jobs); })
                  .ok());
  EXPECT_EQ(metrics.Render(),
            "# HELP rexec_queue_jobs_total Jobs taken from the queue.\n"
            "# TYPE rexec_queue_jobs_total counter\n"
            "rexec_queue_jobs_total 3\n");
  jobs = 5;
  EXPECT_THAT(metrics.Render(), HasSubstr("\nrexec_queue_jobs_total 5\n"));
  EXPECT_FALSE(metrics.AddCounterCallback("rexec_queue_jobs_total", "again", [] { return 0.0; })
                   .ok());
  EXPECT_FALSE(metrics.AddCounterCallback("rexec_empty", "", nullptr).ok());
}

TEST(MetricsRegistryTest, RendersSpecialValuesInPrometheusSpelling) {
  MetricsRegistry metrics;
  ASSERT_TRUE(metrics.AddGaugeCallback("a", "", [] { return INFINITY; }).ok());
  ASSERT_TRUE(metrics.AddGaugeCallback("b", "", [] { return -INFINITY; }).ok());
  ASSERT_TRUE(metrics.AddGaugeCallback("c", "", [] { return NAN; }).ok());
  ASSERT_TRUE(metrics.AddGaugeCallback("d", "", [] { return -0.5; }).ok());
  EXPECT_EQ(metrics.Render(),
            "# HELP a \n# TYPE a gauge\na +Inf\n"
            "# HELP b \n# TYPE b gauge\nb -Inf\n"
            "# HELP c \n# TYPE c gauge\nc NaN\n"
            "# HELP d \n# TYPE d gauge\nd -0.5\n");
}

TEST(MetricsRegistryTest, RendersAHistogramWithCumulativeBuckets) {
  MetricsRegistry metrics;
  auto compile = metrics.AddHistogram("rexec_compile_seconds", "Bitcode to machine code.",
                                      {0.01, 0.1, 1});
  ASSERT_TRUE(compile.ok()) << compile.status();
  (*compile)->Observe(0.005);
  (*compile)->Observe(0.01);  // on a bound: counted in that bucket (le = "less or equal")
  (*compile)->Observe(0.5);
  (*compile)->Observe(2);
  EXPECT_EQ(metrics.Render(),
            "# HELP rexec_compile_seconds Bitcode to machine code.\n"
            "# TYPE rexec_compile_seconds histogram\n"
            "rexec_compile_seconds_bucket{le=\"0.01\"} 2\n"
            "rexec_compile_seconds_bucket{le=\"0.1\"} 2\n"
            "rexec_compile_seconds_bucket{le=\"1\"} 3\n"
            "rexec_compile_seconds_bucket{le=\"+Inf\"} 4\n"
            "rexec_compile_seconds_sum 2.515\n"
            "rexec_compile_seconds_count 4\n");
}

TEST(MetricsRegistryTest, RendersAnEmptyHistogram) {
  MetricsRegistry metrics;
  ASSERT_TRUE(metrics.AddHistogram("rexec_run_seconds", "Run time.", {0.00001, 60}).ok());
  EXPECT_EQ(metrics.Render(),
            "# HELP rexec_run_seconds Run time.\n"
            "# TYPE rexec_run_seconds histogram\n"
            "rexec_run_seconds_bucket{le=\"1e-05\"} 0\n"
            "rexec_run_seconds_bucket{le=\"60\"} 0\n"
            "rexec_run_seconds_bucket{le=\"+Inf\"} 0\n"
            "rexec_run_seconds_sum 0\n"
            "rexec_run_seconds_count 0\n");
}

TEST(MetricsRegistryTest, PresetBucketsSpanTheirRangesInAscendingOrder) {
  for (const std::vector<double>& buckets :
       {MetricsRegistry::CompileSecondsBuckets(), MetricsRegistry::RunSecondsBuckets()}) {
    MetricsRegistry metrics;
    EXPECT_TRUE(metrics.AddHistogram("h", "", buckets).ok());
    EXPECT_EQ(buckets.back(), 60);
  }
  EXPECT_EQ(MetricsRegistry::CompileSecondsBuckets().front(), 0.001);
  EXPECT_EQ(MetricsRegistry::RunSecondsBuckets().front(), 0.00001);
}

TEST(MetricsRegistryTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry metrics;
  auto errors = metrics.AddLabeledCounter("rexec_errors_total", "Errors,\nby \"kind\" \\ path.",
                                          "kind");
  ASSERT_TRUE(errors.ok());
  (*errors)->Increment("a\\b \"quoted\"\nnext");
  // In HELP only backslash and newline are escaped; in a label value the quote too.
  EXPECT_EQ(metrics.Render(),
            "# HELP rexec_errors_total Errors,\\nby \"kind\" \\\\ path.\n"
            "# TYPE rexec_errors_total counter\n"
            "rexec_errors_total{kind=\"a\\\\b \\\"quoted\\\"\\nnext\"} 1\n");
}

TEST(MetricsRegistryTest, RejectsInvalidMetricNames) {
  MetricsRegistry metrics;
  for (const char* name : {"", "1jobs", "jobs-total", "jobs total", "jobs.total", "é"}) {
    absl::StatusOr<MetricsRegistry::Counter*> counter = metrics.AddCounter(name, "help");
    EXPECT_EQ(counter.status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
  EXPECT_EQ(metrics.AddGauge("bad-name", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(metrics.AddGaugeCallback("bad name", "", [] { return 1.0; }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(metrics.AddHistogram("bad.name", "", {1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // The charset allows colons and underscores anywhere, digits after the first character.
  EXPECT_TRUE(metrics.AddCounter("_rexec:jobs_2", "").ok());
  EXPECT_TRUE(metrics.AddCounter(":x", "").ok());
  EXPECT_EQ(metrics.Render(),
            "# HELP _rexec:jobs_2 \n# TYPE _rexec:jobs_2 counter\n_rexec:jobs_2 0\n"
            "# HELP :x \n# TYPE :x counter\n:x 0\n");
}

TEST(MetricsRegistryTest, RejectsInvalidLabelNames) {
  MetricsRegistry metrics;
  for (const char* label : {"", "__reserved", "1st", "out-come", "a:b"}) {
    EXPECT_EQ(metrics.AddLabeledCounter("rexec_jobs_total", "", label).status().code(),
              absl::StatusCode::kInvalidArgument)
        << label;
  }
  EXPECT_TRUE(metrics.AddLabeledCounter("rexec_jobs_total", "", "_outcome2").ok());
}

TEST(MetricsRegistryTest, RejectsADuplicateName) {
  MetricsRegistry metrics;
  ASSERT_TRUE(metrics.AddCounter("rexec_jobs_total", "").ok());
  EXPECT_EQ(metrics.AddGauge("rexec_jobs_total", "").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(metrics.Render(),
            "# HELP rexec_jobs_total \n# TYPE rexec_jobs_total counter\nrexec_jobs_total 0\n");
}

TEST(MetricsRegistryTest, RejectsBadBucketsAndAnEmptyCallback) {
  MetricsRegistry metrics;
  EXPECT_EQ(metrics.AddHistogram("h", "", {1, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(metrics.AddHistogram("h", "", {2, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(metrics.AddHistogram("h", "", {1, INFINITY}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(metrics.AddHistogram("h", "", {NAN}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(metrics.AddGaugeCallback("g", "", nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(metrics.Render(), "");
}

TEST(MetricsRegistryTest, ACounterOnlyGoesUp) {
  MetricsRegistry metrics;
  auto counter = metrics.AddCounter("c", "");
  auto labeled = metrics.AddLabeledCounter("l", "", "k");
  ASSERT_TRUE(counter.ok() && labeled.ok());
  EXPECT_THROW((*counter)->Increment(-1), kj::Exception);
  EXPECT_THROW((*counter)->Increment(NAN), kj::Exception);
  EXPECT_THROW((*labeled)->Increment("v", -1), kj::Exception);
  EXPECT_EQ(metrics.Render(), "# HELP c \n# TYPE c counter\nc 0\n# HELP l \n# TYPE l counter\n");
}

TEST(MetricsRegistryTest, CountsEveryUpdateFromManyThreads) {
  MetricsRegistry metrics;
  auto counter = metrics.AddCounter("c", "");
  auto labeled = metrics.AddLabeledCounter("l", "", "k");
  auto histogram = metrics.AddHistogram("h", "", {0.5});
  ASSERT_TRUE(counter.ok() && labeled.ok() && histogram.ok());
  constexpr int kThreads = 4;
  constexpr int kEach = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        (*counter)->Increment();
        (*labeled)->Increment(t % 2 == 0 ? "even" : "odd");
        (*histogram)->Observe(i % 2 == 0 ? 0.25 : 1);
      }
    });
  }
  // Rendering while the updates run must be safe; a race here shows under ThreadSanitizer.
  for (int i = 0; i < 20; ++i) metrics.Render();
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(metrics.Render(),
            "# HELP c \n# TYPE c counter\nc 40000\n"
            "# HELP l \n# TYPE l counter\nl{k=\"even\"} 20000\nl{k=\"odd\"} 20000\n"
            "# HELP h \n# TYPE h histogram\n"
            "h_bucket{le=\"0.5\"} 20000\nh_bucket{le=\"+Inf\"} 40000\n"
            "h_sum 25000\nh_count 40000\n");
}

}  // namespace
}  // namespace rexec
