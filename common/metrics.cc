#include "common/metrics.h"

namespace topicwire {

prometheus::Family<prometheus::Counter>& CounterFamily(prometheus::Registry& registry,
                                                       const std::string& name,
                                                       const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Gauge>& GaugeFamily(prometheus::Registry& registry,
                                                   const std::string& name,
                                                   const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Counter>& MetricsRegistrar::CounterFamily(const std::string& name,
                                                                         const std::string& help) {
  return topicwire::CounterFamily(registry_, name, help);
}

prometheus::Family<prometheus::Gauge>& MetricsRegistrar::GaugeFamily(const std::string& name,
                                                                     const std::string& help) {
  return topicwire::GaugeFamily(registry_, name, help);
}

prometheus::Counter& MetricsRegistrar::AddCounter(const std::string& name, const std::string& help,
                                                  const prometheus::Labels& labels) {
  return CounterFamily(name, help).Add(labels);
}

prometheus::Gauge& MetricsRegistrar::AddGauge(const std::string& name, const std::string& help,
                                              const prometheus::Labels& labels) {
  return GaugeFamily(name, help).Add(labels);
}

prometheus::Histogram& MetricsRegistrar::AddHistogram(
    const std::string& name, const std::string& help,
    const prometheus::Histogram::BucketBoundaries& buckets) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry_).Add({}, buckets);
}

}  // namespace topicwire
