// `topicwire publish`: sends articles to ingest's publish endpoint and tallies its answers.
#ifndef TOPICWIRE_CLI_PUBLISH_H_
#define TOPICWIRE_CLI_PUBLISH_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/article_reader.h"
#include "cli/command.h"
#include "common/curve_keys.h"
#include "zmq.hpp"

namespace topicwire::cli {

struct PublishOptions {
  // ingest's publish endpoint (a ROUTER); the client connects a DEALER to it.
  std::string endpoint = "tcp://127.0.0.1:7400";
  // Give up when requests are outstanding and no reply came for this long.
  absl::Duration timeout = absl::Seconds(10);
  // Articles per PublishRequest at most.
  int batch_size = 100;
  // Bytes of serialized articles per PublishRequest at most (an article over it goes alone, so
  // that ingest can answer it REJECTED for its size).
  size_t max_request_bytes = size_t{4} << 20;
  // Requests sent and not yet answered, at most: enough to keep ingest's group commit busy.
  int max_in_flight = 4;
  // First wait before resending articles ingest answered BUSY; doubles up to max_busy_backoff.
  absl::Duration busy_backoff = absl::Milliseconds(50);
  absl::Duration max_busy_backoff = absl::Seconds(2);
  // Write a progress line (overwritten in place with '\r') to the progress stream.
  bool show_progress = false;
  // CurveZMQ keys; disabled (plaintext) by default.
  curve::ClientOptions curve{};
};

// One article that ingest refused, with the reason it gave.
struct Rejection {
  std::string id{};
  std::string origin{};
  std::string reason{};
};

struct PublishSummary {
  int64_t accepted = 0;
  int64_t duplicate = 0;
  std::vector<Rejection> rejected{};
  // Times an article was answered BUSY and sent again.
  int64_t busy_retries = 0;
  // Articles never answered because publishing was interrupted.
  int64_t not_sent = 0;
};

// Publishes `articles`, pipelining up to max_in_flight requests, and resends BUSY ones with
// backoff until they are answered. Stops early (counting the rest as not sent) when
// `shutdown_fd` becomes readable; -1 means no shutdown fd. Errors: kDeadlineExceeded when ingest
// does not answer within the timeout ("no reply from ... is ingest running?"), kUnavailable or
// kInvalidArgument for a bad endpoint, kDataLoss for a reply that is not a PublishReply.
absl::StatusOr<PublishSummary> Publish(zmq::context_t& context, const PublishOptions& options,
                                       const std::vector<SourcedArticle>& articles, int shutdown_fd,
                                       std::ostream& progress);

// Writes the human summary: counts, then one line per rejected article with its reason.
void PrintSummary(const PublishSummary& summary, std::ostream& out);

// 0 when every article was accepted or was a duplicate, 1 otherwise.
int PublishExitCode(const PublishSummary& summary);

// `topicwire publish`: its flags and help, and Publish() behind them.
const Command& PublishCommand();

}  // namespace topicwire::cli

#endif  // TOPICWIRE_CLI_PUBLISH_H_
