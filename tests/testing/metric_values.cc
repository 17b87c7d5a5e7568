#include "tests/testing/metric_values.h"

#include <algorithm>

#include "prometheus/metric_family.h"

namespace topicwire::testing {

double MetricValue(prometheus::Registry& registry, const std::string& name,
                   const prometheus::Labels& labels) {
  double total = 0;
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      const bool wanted = std::all_of(labels.begin(), labels.end(), [&](const auto& wanted_label) {
        return std::any_of(metric.label.begin(), metric.label.end(),
                           [&](const prometheus::ClientMetric::Label& label) {
                             return label.name == wanted_label.first &&
                                    label.value == wanted_label.second;
                           });
      });
      if (!wanted) continue;
      // Only the family's own kind is set; the others stay 0.
      total += metric.counter.value + metric.gauge.value +
               static_cast<double>(metric.histogram.sample_count);
    }
  }
  return total;
}

}  // namespace topicwire::testing
