#include "sink/sink_metrics.h"

#include <vector>

#include "absl/strings/string_view.h"

namespace topicwire::sink {
namespace {

// Buckets from 0.1 ms up, doubling: a batch commit is an fsync (about 0.2 ms here) while end to
// end includes classification and queues.
prometheus::Histogram::BucketBoundaries DoublingBuckets(double first, int count) {
  prometheus::Histogram::BucketBoundaries buckets;
  double bound = first;
  for (int i = 0; i < count; ++i, bound *= 2) buckets.push_back(bound);
  return buckets;
}

constexpr absl::string_view kOtherStream = "other";

}  // namespace

SinkMetrics::SinkMetrics(prometheus::Registry& registry)
    : MetricsRegistrar(registry),
      articles_stored(AddCounter("topicwire_sink_articles_stored_total", "Articles newly stored")),
      articles_duplicate(AddCounter("topicwire_sink_articles_duplicate_total",
                                    "Deliveries of articles that were already stored")),
      deliveries_malformed(AddCounter("topicwire_sink_deliveries_malformed_total",
                                      "Input frames dropped because they were not a usable "
                                      "Delivery (unparseable, or without an article id)")),
      acks_dropped(AddCounter("topicwire_sink_commit_acks_dropped_total",
                              "CommitAcks that could not be queued for ingest (ingest will "
                              "redeliver those articles and they are acknowledged then)")),
      history_requests(AddCounter("topicwire_sink_history_requests_total",
                                  "History requests answered, refused ones included")),
      history_errors(AddCounter("topicwire_sink_history_errors_total",
                                "History requests refused (did not parse, bad arguments)")),
      stream_subscriptions(AddCounter("topicwire_sink_stream_subscriptions_total",
                                      "Subscribe messages received on the stream socket")),
      stream_clients_cut_off(
          AddCounter("topicwire_sink_stream_clients_cut_off_total",
                     "Times a client address sent more than --max_subscriptions_per_client "
                     "subscriptions and its stream connections were closed")),
      store_commit_seconds(AddHistogram("topicwire_sink_store_commit_seconds",
                                        "Time to store one batch in one transaction",
                                        DoublingBuckets(0.0001, 16))),
      end_to_end_seconds(AddHistogram("topicwire_sink_end_to_end_seconds",
                                      "stored_at - accepted_at of each stored article",
                                      DoublingBuckets(0.001, 16))),
      store_bytes(AddGauge("topicwire_sink_store_bytes",
                           "Size of the store database (page_count * page_size)")),
      last_sequence(AddGauge("topicwire_sink_last_sequence", "Newest store sequence number")),
      store_full(AddGauge("topicwire_sink_store_full",
                          "1 while the store is full: sink holds its batch unacknowledged, takes "
                          "no deliveries and retries until space returns")),
      store_full_batches(AddCounter("topicwire_sink_store_full_total",
                                    "Attempts to store a batch that failed for want of space")),
      published_family_(CounterFamily("topicwire_sink_messages_published_total",
                                      "Copies published on the topic streams, per stream")),
      gaps_family_(CounterFamily("topicwire_sink_subscriber_gaps_total",
                                 "Holes subscribers found in a live stream and asked history to "
                                 "fill: messages the stream socket dropped for a subscriber that "
                                 "fell behind (or published before its subscription took effect)")),
      missed_family_(CounterFamily("topicwire_sink_subscriber_missed_messages_total",
                                   "Messages in those holes, per stream, as the subscribers "
                                   "reported them")) {}

void SinkMetrics::CountPublished(const std::string& stream) {
  auto it = published_by_stream_.find(stream);
  if (it == published_by_stream_.end()) {
    const std::string label =
        published_by_stream_.size() < kMaxStreamLabels ? stream : std::string(kOtherStream);
    // "other" stays out of the map: a stream named "other" would share its counter anyway.
    if (label != stream) {
      published_family_.Add({{"stream", label}}).Increment();
      return;
    }
    it = published_by_stream_.emplace(stream, &published_family_.Add({{"stream", stream}})).first;
  }
  it->second->Increment();
}

void SinkMetrics::CountSubscriberGap(const std::string& stream, uint64_t missed) {
  const std::string label =
      published_by_stream_.contains(stream) ? stream : std::string(kOtherStream);
  GapCounters& counters = gaps_by_stream_[label];
  if (counters.gaps == nullptr) {
    counters.gaps = &gaps_family_.Add({{"stream", label}});
    counters.missed = &missed_family_.Add({{"stream", label}});
  }
  counters.gaps->Increment();
  counters.missed->Increment(static_cast<double>(missed));
}

}  // namespace topicwire::sink
