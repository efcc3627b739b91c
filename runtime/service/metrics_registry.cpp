#include "runtime/service/metrics_registry.h"

#include <kj/debug.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <variant>

#include "absl/strings/str_cat.h"

namespace rexec {
namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

bool IsValidMetricName(std::string_view name) {
  auto start = [](char c) { return IsNameStart(c) || c == ':'; };
  auto rest = [](char c) { return IsNameChar(c) || c == ':'; };
  return !name.empty() && start(name.front()) && std::all_of(name.begin() + 1, name.end(), rest);
}

// Names starting with "__" are reserved for Prometheus itself.
bool IsValidLabelName(std::string_view name) {
  return !name.empty() && IsNameStart(name.front()) && name.substr(0, 2) != "__" &&
         std::all_of(name.begin() + 1, name.end(), IsNameChar);
}

// Shortest text that reads back as the same double, in the spelling Prometheus parses.
void AppendValue(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buffer[32];
    auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
    out.append(buffer, end);
  }
}

void AppendEscaped(std::string& out, std::string_view text, bool escape_quotes) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// One sample line: name{label="value"} number
void AppendSample(std::string& out, std::string_view name, std::string_view label_name,
                  std::string_view label_value, double value) {
  out += name;
  if (!label_name.empty()) {
    out += '{';
    out += label_name;
    out += "=\"";
    AppendEscaped(out, label_value, /*escape_quotes=*/true);
    out += "\"}";
  }
  out += ' ';
  AppendValue(out, value);
  out += '\n';
}

}  // namespace

struct MetricsRegistry::Family {
  std::string name;
  std::string help;
  const char* type;  // as on the # TYPE line
  std::variant<std::unique_ptr<Counter>, std::unique_ptr<LabeledCounter>, std::unique_ptr<Gauge>,
               std::function<double()>, std::unique_ptr<Histogram>>
      metric;

  void Render(std::string& out) const {
    absl::StrAppend(&out, "# HELP ", name, " ");
    AppendEscaped(out, help, /*escape_quotes=*/false);
    absl::StrAppend(&out, "\n# TYPE ", name, " ", type, "\n");
    std::visit([&](const auto& m) { RenderSamples(out, m); }, metric);
  }

  void RenderSamples(std::string& out, const std::unique_ptr<Counter>& counter) const {
    AppendSample(out, name, {}, {}, counter->value_.load(std::memory_order_relaxed));
  }

  void RenderSamples(std::string& out, const std::unique_ptr<LabeledCounter>& counter) const {
    std::lock_guard lock(counter->mutex_);
    for (const auto& [label_value, value] : counter->values_) {
      AppendSample(out, name, counter->label_name_, label_value, value);
    }
  }

  void RenderSamples(std::string& out, const std::unique_ptr<Gauge>& gauge) const {
    AppendSample(out, name, {}, {}, gauge->value_.load(std::memory_order_relaxed));
  }

  void RenderSamples(std::string& out, const std::function<double()>& read) const {
    AppendSample(out, name, {}, {}, read());
  }

  void RenderSamples(std::string& out, const std::unique_ptr<Histogram>& histogram) const {
    std::string bucket_name = absl::StrCat(name, "_bucket");
    std::string bound;
    std::lock_guard lock(histogram->mutex_);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < histogram->bucket_counts_.size(); ++i) {
      cumulative += histogram->bucket_counts_[i];
      bound.clear();
      AppendValue(bound, i < histogram->upper_bounds_.size() ? histogram->upper_bounds_[i]
                                                             : INFINITY);
      AppendSample(out, bucket_name, "le", bound, static_cast<double>(cumulative));
    }
    AppendSample(out, absl::StrCat(name, "_sum"), {}, {}, histogram->sum_);
    AppendSample(out, absl::StrCat(name, "_count"), {}, {},
                 static_cast<double>(histogram->count_));
  }
};

void MetricsRegistry::Counter::Increment(double amount) {
  KJ_REQUIRE(amount >= 0, "a counter only goes up", amount);
  value_.fetch_add(amount, std::memory_order_relaxed);
}

void MetricsRegistry::LabeledCounter::Increment(std::string_view label_value, double amount) {
  KJ_REQUIRE(amount >= 0, "a counter only goes up", amount);
  std::lock_guard lock(mutex_);
  auto it = values_.find(label_value);
  if (it == values_.end()) it = values_.emplace(std::string(label_value), 0.0).first;
  it->second += amount;
}

void MetricsRegistry::Gauge::Set(double value) { value_.store(value, std::memory_order_relaxed); }

void MetricsRegistry::Gauge::Add(double amount) {
  value_.fetch_add(amount, std::memory_order_relaxed);
}

MetricsRegistry::Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), bucket_counts_(upper_bounds_.size() + 1, 0) {}

void MetricsRegistry::Histogram::Observe(double value) {
  // The first bucket whose bound is >= value. NaN compares false with every bound, so it lands
  // in +Inf only, as in the Go client.
  size_t bucket = std::partition_point(upper_bounds_.begin(), upper_bounds_.end(),
                                       [value](double bound) { return !(bound >= value); }) -
                  upper_bounds_.begin();
  std::lock_guard lock(mutex_);
  ++bucket_counts_[bucket];
  sum_ += value;
  ++count_;
}

std::vector<double> MetricsRegistry::CompileSecondsBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::vector<double> MetricsRegistry::RunSecondsBuckets() {
  return {0.00001, 0.000025, 0.0001, 0.00025, 0.001, 0.0025, 0.01, 0.025,
          0.1,     0.25,     1,      2.5,     10,    30,     60};
}

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

absl::Status MetricsRegistry::Register(std::unique_ptr<Family> family) {
  if (!IsValidMetricName(family->name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", family->name, "' is not a valid Prometheus metric name"));
  }
  std::lock_guard lock(mutex_);
  for (const auto& existing : families_) {
    if (existing->name == family->name) {
      return absl::AlreadyExistsError(
          absl::StrCat("metric '", family->name, "' is already registered"));
    }
  }
  families_.push_back(std::move(family));
  return absl::OkStatus();
}

absl::StatusOr<MetricsRegistry::Counter*> MetricsRegistry::AddCounter(std::string name,
                                                                      std::string help) {
  auto counter = std::unique_ptr<Counter>(new Counter());
  Counter* handle = counter.get();
  absl::Status registered = Register(std::unique_ptr<Family>(
      new Family{std::move(name), std::move(help), "counter", std::move(counter)}));
  if (!registered.ok()) return registered;
  return handle;
}

absl::StatusOr<MetricsRegistry::LabeledCounter*> MetricsRegistry::AddLabeledCounter(
    std::string name, std::string help, std::string label_name) {
  if (!IsValidLabelName(label_name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", label_name, "' is not a valid Prometheus label name"));
  }
  auto counter = std::unique_ptr<LabeledCounter>(new LabeledCounter(std::move(label_name)));
  LabeledCounter* handle = counter.get();
  absl::Status registered = Register(std::unique_ptr<Family>(
      new Family{std::move(name), std::move(help), "counter", std::move(counter)}));
  if (!registered.ok()) return registered;
  return handle;
}

absl::StatusOr<MetricsRegistry::Gauge*> MetricsRegistry::AddGauge(std::string name,
                                                                  std::string help) {
  auto gauge = std::unique_ptr<Gauge>(new Gauge());
  Gauge* handle = gauge.get();
  absl::Status registered = Register(std::unique_ptr<Family>(
      new Family{std::move(name), std::move(help), "gauge", std::move(gauge)}));
  if (!registered.ok()) return registered;
  return handle;
}

absl::Status MetricsRegistry::AddGaugeCallback(std::string name, std::string help,
                                               std::function<double()> read) {
  if (!read) return absl::InvalidArgumentError("a gauge callback must be callable");
  return Register(std::unique_ptr<Family>(
      new Family{std::move(name), std::move(help), "gauge", std::move(read)}));
}

absl::Status MetricsRegistry::AddCounterCallback(std::string name, std::string help,
                                                 std::function<double()> read) {
  if (!read) return absl::InvalidArgumentError("a counter callback must be callable");
  return Register(std::unique_ptr<Family>(
      new Family{std::move(name), std::move(help), "counter", std::move(read)}));
}

absl::StatusOr<MetricsRegistry::Histogram*> MetricsRegistry::AddHistogram(
    std::string name, std::string help, std::vector<double> upper_bounds) {
  for (size_t i = 0; i < upper_bounds.size(); ++i) {
    if (!std::isfinite(upper_bounds[i]) || (i > 0 && !(upper_bounds[i] > upper_bounds[i - 1]))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "histogram '", name, "' needs finite, strictly ascending bucket bounds"));
    }
  }
  auto histogram = std::unique_ptr<Histogram>(new Histogram(std::move(upper_bounds)));
  Histogram* handle = histogram.get();
  absl::Status registered = Register(std::unique_ptr<Family>(
      new Family{std::move(name), std::move(help), "histogram", std::move(histogram)}));
  if (!registered.ok()) return registered;
  return handle;
}

std::string MetricsRegistry::Render() const {
  std::vector<const Family*> families;
  {
    std::lock_guard lock(mutex_);
    families.reserve(families_.size());
    for (const auto& family : families_) families.push_back(family.get());
  }
  std::string out;
  for (const Family* family : families) family->Render(out);
  return out;
}

}  // namespace rexec
