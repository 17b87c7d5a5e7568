// The load generator behind `topicwire bench`: publishes synthetic articles to an ingest
// endpoint and subscribes at the stream endpoint, measuring sustained throughput and
// end-to-end latency (publish -> subscriber). The same generator drives the real stages and
// the passthrough topology, so the two figures are comparable within one run.
#ifndef TOPICWIRE_BENCH_LOAD_H_
#define TOPICWIRE_BENCH_LOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/synthetic.h"
#include "proto/article.pb.h"
#include "zmq.hpp"

namespace topicwire::bench {

struct LoadOptions {
  // ingest's publish endpoint (ROUTER) and sink's stream endpoint (PUB).
  std::string publish_endpoint;
  std::string stream_endpoint;
  // Articles to publish in the measured run.
  int64_t count = 20000;
  // Approximate serialized size of each article (title + body + metadata).
  size_t article_bytes = 3300;
  // What the articles read like (bench/synthetic.h).
  ArticleMix mix = ArticleMix::kNews;
  // Articles per second; 0 publishes as fast as ingest accepts.
  double rate = 0;
  // Articles per PublishRequest frame.
  int batch = 32;
  // PublishRequest frames in flight (sent, not yet answered) at most.
  int window = 16;
  // Gives up when the subscriber has seen nothing new for this long.
  absl::Duration idle_timeout = absl::Seconds(30);
  // Prefix of article ids, so that runs against the same store do not collide.
  std::string run_id = "bench";
};

struct LoadResult {
  int64_t published = 0;
  int64_t accepted = 0;
  int64_t duplicate = 0;
  int64_t rejected = 0;
  int64_t busy_retries = 0;
  // Distinct articles of this run that reached the subscriber.
  int64_t received = 0;
  // First publish to last article received.
  absl::Duration elapsed;
  // Serialized bytes of the articles published.
  int64_t payload_bytes = 0;
  // Of the received articles: their tags (counted on the first copy of each), the copies that
  // reached the subscriber (sink publishes one per tag, or one on "untagged") and those
  // copies' bytes.
  int64_t tags = 0;
  int64_t copies = 0;
  int64_t copy_bytes = 0;
  // Publish -> subscriber latency of every received article, in milliseconds, sorted.
  std::vector<double> latencies_ms;

  double ArticlesPerSecond() const;
  double MegabytesPerSecond() const;
  // Averages over the received articles and copies; 0 when nothing was received.
  double TagsPerArticle() const;
  double CopiesPerArticle() const;
  double BytesPerCopy() const;
  // `p` in [0, 100]; 0 when nothing was received.
  double LatencyPercentileMs(double p) const;
};

// Runs one measured load. Before the measured part it publishes warm-up articles until one
// reaches the subscriber, so that the subscription is in place.
absl::StatusOr<LoadResult> RunLoad(zmq::context_t& context, const LoadOptions& options);

}  // namespace topicwire::bench

#endif  // TOPICWIRE_BENCH_LOAD_H_
