#include "agent/exposition.hpp"

#include <fmt/format.h>

#include <cmath>

namespace loopprof::agent {

namespace {

const char* type_name(MetricType type) {
  switch (type) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

// HELP text escapes backslash and newline only.
std::string escape_help(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_sample_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15)
    return fmt::format("{}", static_cast<int64_t>(value));
  return fmt::format("{}", value);  // shortest round-trip form
}

void Exposition::family(std::string_view name, MetricType type, std::string_view help) {
  text_ +=
      fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type_name(type));
}

void Exposition::line(std::string_view name, const Labels& labels, std::string_view extra_name,
                      std::string_view extra_value, double value) {
  text_ += name;
  if (!labels.empty() || !extra_name.empty()) {
    text_ += '{';
    bool first = true;
    for (const auto& [key, val] : labels) {
      if (!first) text_ += ',';
      first = false;
      text_ += fmt::format("{}=\"{}\"", key, escape_label_value(val));
    }
    if (!extra_name.empty()) {
      if (!first) text_ += ',';
      text_ += fmt::format("{}=\"{}\"", extra_name, extra_value);
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += format_sample_value(value);
  text_ += '\n';
}

void Exposition::sample(std::string_view name, const Labels& labels, double value) {
  line(name, labels, "", "", value);
}

void Exposition::histogram(std::string_view name, const Labels& labels,
                           const HistogramValue& value) {
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < value.upper_bounds.size(); ++i) {
    cumulative += i < value.counts.size() ? value.counts[i] : 0;
    line(bucket, labels, "le", format_sample_value(value.upper_bounds[i]),
         static_cast<double>(cumulative));
  }
  cumulative += value.above;
  line(bucket, labels, "le", "+Inf", static_cast<double>(cumulative));
  line(std::string(name) + "_sum", labels, "", "", value.sum);
  line(std::string(name) + "_count", labels, "", "", static_cast<double>(cumulative));
}

}  // namespace loopprof::agent
