#include "sink/sink_metrics.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "prometheus/registry.h"
#include "tests/testing/metric_values.h"
#include "tests/testing/prelude.h"

namespace topicwire::sink {
namespace {

using namespace ::topicwire::testing::prelude;
using ::topicwire::testing::MetricValue;

// The label values of `family` in `registry`.
size_t LabelSets(prometheus::Registry& registry, const std::string& family) {
  for (const prometheus::MetricFamily& collected : registry.Collect()) {
    if (collected.name == family) return collected.metric.size();
  }
  return 0;
}

TEST(SinkMetricsTest, StreamLabelsAreCappedAndTheRestCountAsOther) {
  prometheus::Registry registry;
  SinkMetrics metrics(registry);
  const size_t streams = SinkMetrics::kMaxStreamLabels + 100;
  for (size_t i = 0; i < streams; ++i) metrics.CountPublished(absl::StrCat("topic", i));
  metrics.CountPublished("topic0");
  EXPECT_EQ(LabelSets(registry, "topicwire_sink_messages_published_total"),
            SinkMetrics::kMaxStreamLabels + 1);
  EXPECT_EQ(MetricValue(registry, "topicwire_sink_messages_published_total", {{"stream", "other"}}),
            100);
  EXPECT_EQ(
      MetricValue(registry, "topicwire_sink_messages_published_total", {{"stream", "topic0"}}), 2);
  EXPECT_EQ(MetricValue(registry, "topicwire_sink_messages_published_total"),
            static_cast<double>(streams + 1));

  for (size_t i = 0; i < streams; ++i) metrics.CountSubscriberGap(absl::StrCat("gap", i), 1);
  EXPECT_EQ(LabelSets(registry, "topicwire_sink_subscriber_gaps_total"), 1u);
}

}  // namespace
}  // namespace topicwire::sink
