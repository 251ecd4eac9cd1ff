// The Prometheus text exposition format, version 0.0.4: one family at a time
// (# HELP, # TYPE, then its samples), label values escaped, histograms as
// cumulative `le` buckets with _sum and _count.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loopprof::agent {

// The Content-Type of the format.
inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { counter, gauge, histogram };

// A histogram as the exposition shows it: counts per bucket (not cumulative;
// counts[i] for values <= upper_bounds[i] and above the bound before), the
// count above the last bound, and the sum of all observations.
struct HistogramValue {
  std::span<const double> upper_bounds;
  std::vector<uint64_t> counts;  // same size as upper_bounds
  uint64_t above = 0;            // the +Inf bucket's own count
  double sum = 0;
};

class Exposition {
 public:
  // Starts a family; its samples must follow before the next family.
  void family(std::string_view name, MetricType type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  void histogram(std::string_view name, const Labels& labels, const HistogramValue& value);
  const std::string& text() const { return text_; }

 private:
  void line(std::string_view name, const Labels& labels, std::string_view extra_name,
            std::string_view extra_value, double value);
  std::string text_;
};

// Escapes a label value: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);
// A sample value: integers without a fraction, +Inf/-Inf/NaN spelled out.
std::string format_sample_value(double value);

}  // namespace loopprof::agent
