// The chaos run's publisher: one DEALER with many articles in flight, resending whatever gets no
// answer in time (ingest was killed) or is answered BUSY, until every article has an answer.
#ifndef TOPICWIRE_CHAOS_PUBLISHER_H_
#define TOPICWIRE_CHAOS_PUBLISHER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "chaos/chaos_report.pb.h"
#include "proto/article.pb.h"
#include "zmq.hpp"

namespace topicwire::chaos {

struct PublisherOptions {
  // ingest's publish endpoint.
  std::string endpoint;
  // Articles to publish; their ids are id_prefix + 0, 1, 2...
  uint64_t articles = 100'000;
  std::string id_prefix = "chaos-";
  // Articles per PublishRequest.
  int batch = 20;
  // Most articles sent and not yet answered.
  int window = 400;
  // An article with no answer this long after its send is sent again.
  absl::Duration resend_after = absl::Seconds(3);
  // How long a BUSY article waits before it is sent again.
  absl::Duration busy_backoff = absl::Milliseconds(200);
  // Approximate size of each article's body.
  size_t article_bytes = 600;
  // Seeds the article texts.
  uint64_t seed = 1;
  // Most fresh articles per second (resends are not limited); 0: as fast as ingest answers.
  double rate = 0;
};

struct PublishResult {
  // Ids answered ACCEPTED, or DUPLICATE after a resend.
  absl::flat_hash_set<std::string> accepted;
  ChaosReport::Publishing figures;
};

// Article `index` of the run: the same text on every resend. Its body mixes words from several
// taxonomy topics so the articles spread over many streams.
v1::Article MakeChaosArticle(const PublisherOptions& options, uint64_t index);

// Publishes every article until each one is answered, `deadline` passes or `shutdown_fd` becomes
// readable; figures.unanswered counts the articles left without an answer. `progress` is called
// about once a second. Fails only when the socket itself fails.
absl::StatusOr<PublishResult> Publish(
    zmq::context_t& context, const PublisherOptions& options, absl::Time deadline, int shutdown_fd,
    const std::function<void(const ChaosReport::Publishing&)>& progress);

}  // namespace topicwire::chaos

#endif  // TOPICWIRE_CHAOS_PUBLISHER_H_
