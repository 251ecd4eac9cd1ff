#include <gtest/gtest.h>

#include <array>

#include "agent/exposition.hpp"

namespace loopprof::agent {
namespace {

TEST(Exposition, FamilyHeaderThenSamplesWithEscapedLabels) {
  Exposition out;
  out.family("loopprof_stalls_total", MetricType::counter, "Stalls.\nby cause");
  out.sample("loopprof_stalls_total", {{"comm", "a\"b\\c\nd"}, {"cause", "gil"}}, 3);
  EXPECT_EQ(out.text(),
            "# HELP loopprof_stalls_total Stalls.\\nby cause\n"
            "# TYPE loopprof_stalls_total counter\n"
            "loopprof_stalls_total{comm=\"a\\\"b\\\\c\\nd\",cause=\"gil\"} 3\n");
}

TEST(Exposition, SampleWithoutLabels) {
  Exposition out;
  out.sample("loopprof_agent_watched_processes", {}, 2);
  EXPECT_EQ(out.text(), "loopprof_agent_watched_processes 2\n");
}

TEST(Exposition, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  static constexpr std::array<double, 3> bounds = {0.001, 0.01, 0.1};
  Exposition out;
  out.histogram(
      "lag_seconds", {{"pid", "7"}},
      HistogramValue{.upper_bounds = bounds, .counts = {2, 0, 5}, .above = 1, .sum = 1.5});
  EXPECT_EQ(out.text(),
            "lag_seconds_bucket{pid=\"7\",le=\"0.001\"} 2\n"
            "lag_seconds_bucket{pid=\"7\",le=\"0.01\"} 2\n"
            "lag_seconds_bucket{pid=\"7\",le=\"0.1\"} 7\n"
            "lag_seconds_bucket{pid=\"7\",le=\"+Inf\"} 8\n"
            "lag_seconds_sum{pid=\"7\"} 1.5\n"
            "lag_seconds_count{pid=\"7\"} 8\n");
}

TEST(Exposition, SampleValues) {
  EXPECT_EQ(format_sample_value(0), "0");
  EXPECT_EQ(format_sample_value(12345678901.0), "12345678901");
  EXPECT_EQ(format_sample_value(0.25), "0.25");
  EXPECT_EQ(format_sample_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_sample_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_sample_value(0.0 / 0.0), "NaN");
}

}  // namespace
}  // namespace loopprof::agent
