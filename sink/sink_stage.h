// The sink stage: stores Deliveries from the classify workers, publishes each newly stored
// article on its topic streams, confirms every delivery to ingest, and serves history
// (docs/ARCHITECTURE.md, "Delivery protocol", step 5).
#ifndef TOPICWIRE_SINK_SINK_STAGE_H_
#define TOPICWIRE_SINK_SINK_STAGE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/readiness.h"
#include "common/zap_authenticator.h"
#include "prometheus/registry.h"
#include "proto/article.pb.h"
#include "sink/history_service.h"
#include "sink/sink_metrics.h"
#include "sink/store.h"
#include "zmq.hpp"

namespace topicwire::sink {

// The endpoints RunStage bound, with wildcard ports resolved ("tcp://127.0.0.1:41233").
struct BoundEndpoints {
  std::string input;
  std::string stream;
  std::string history;
};

// What the sink's readiness waits for: the store is open and every socket is bound. Whether
// ingest's commit endpoint is reachable does not count: subscribers and history clients need
// sink while ingest restarts (sink only logs losing and regaining that connection). Indices
// into the Readiness that NewSinkReadiness() returns.
enum SinkCondition : size_t { kStoreOpen, kSocketsBound };

// A Readiness with SinkCondition's conditions, all unmet.
std::shared_ptr<Readiness> NewSinkReadiness();

// How RunStage runs the sink; sink_main.cc fills it from flags, tests directly.
struct SinkOptions {
  // PULL, bound: Delivery frames from the classify workers.
  std::string input_endpoint = "tcp://*:7404";
  // XPUB, bound: [topic id][TaggedArticle] for subscribers (SUB). XPUB rather than PUB so that
  // subscriptions are visible (counted); to SUB clients it is the same.
  std::string stream_endpoint = "tcp://*:7401";
  // ROUTER, bound: HistoryRequest -> HistoryReply for DEALER and REQ clients.
  std::string history_endpoint = "tcp://*:7402";
  // PUSH, connected: CommitAck to ingest's commit PULL.
  std::string commit_endpoint = "tcp://127.0.0.1:7405";
  // At most this many deliveries are stored in one transaction. 256 deliveries share one
  // fsync: at about 4 ms per fsync that allows 60,000/s, far above what the CPU allows, while a
  // tagged article with its evidence is ~13 KB, so a larger batch only raises peak memory (1000
  // of them made sink's RSS exceed 64 MB).
  int max_batch = 256;
  // A batch also stops growing once its deliveries hold about this many bytes.
  size_t max_batch_bytes = size_t{8} << 20;
  // Per-subscriber queue on the stream socket, in bytes: a subscriber that falls further behind
  // loses messages silently (ZeroMQ PUB semantics; nothing is counted): it sees stream_sequence
  // jump and fills the gap from history. ZeroMQ bounds queues in messages, so the queue holds
  // stream_send_buffer_bytes / kTypicalCopyBytes copies (StreamSendHighWaterMark()).
  size_t stream_send_buffer_bytes = size_t{64} << 20;
  // When above 0, the per-subscriber queue in copies instead (the older way to set it).
  int stream_send_hwm = 0;
  // Subscriptions one client address may send the stream socket while it is connected; one
  // more and all its stream connections are closed (its SUB sockets reconnect and subscribe
  // again). 0: no limit. TCP only, and not with CURVE (the stream socket's one monitor then
  // counts refused handshakes; only allow-listed clients can subscribe).
  int64_t max_subscriptions_per_client = 10000;
  // Page sizes and limits of the history endpoint.
  HistoryOptions history;
  // While the store is full (kResourceExhausted: disk or SqliteStoreOptions.max_bytes), the
  // refused batch is held unacknowledged, no more input is read, and the batch is retried this
  // often; readiness stays met (subscribers and history are still served) and says why in its
  // detail line.
  absl::Duration store_full_retry_interval = absl::Seconds(1);
  // When the store holds copies a crash left unpublished (Store::published_through()), they are
  // published this long after the sockets are bound, before any input is taken, so that
  // subscribers reconnecting to the restarted sink have subscribed again (ZeroMQ reconnects
  // every 100 ms by default).
  absl::Duration startup_publish_delay = absl::Seconds(1);
  // TEST ONLY: called with every committed batch, before it is published (a test makes the
  // process die there).
  std::function<void(const std::vector<const v1::TaggedArticle*>&)> after_commit_for_test;
  // Upper bound on how long unsent output delays exit.
  int linger_ms = 2000;
  // Metrics are registered here; null keeps them private (not exported).
  std::shared_ptr<prometheus::Registry> registry;
  // Readiness is reported here (from NewSinkReadiness()) when set.
  std::shared_ptr<Readiness> readiness;
  // Called on the stage thread once every socket is bound; useful with wildcard ports.
  std::function<void(const BoundEndpoints&)> on_bound;
  // CurveZMQ on every bound endpoint (common/zap_authenticator.h): stream and history admit the
  // client keys, input the stage keys; no key file: all plaintext.
  curve::ServerOptions curve{};
  // CurveZMQ on the CommitAck PUSH to ingest (sink's own keys, ingest's public key); disabled:
  // plaintext.
  curve::ClientOptions commit_curve{};
};

// The size of a typical published copy (a tagged article with its evidence is about 13 KB),
// which turns the stream's byte budget into ZeroMQ's message count.
inline constexpr size_t kTypicalCopyBytes = size_t{16} << 10;

// The stream socket's per-subscriber high-water mark in copies: options.stream_send_hwm when set,
// else options.stream_send_buffer_bytes / kTypicalCopyBytes (at least 1).
int StreamSendHighWaterMark(const SinkOptions& options);

// Runs the sink until `shutdown_fd` becomes readable, then finishes the batch in hand (store,
// publish, acknowledge) and returns OK. Malformed input is counted, warned about and dropped.
// Returns an error when a socket cannot be set up or the store fails (nothing of the failed
// batch is acknowledged, so ingest redelivers it); a full store is waited out instead (see
// store_full_retry_interval). `store` must be open.
absl::Status RunStage(zmq::context_t& context, const SinkOptions& options, Store& store,
                      int shutdown_fd);

}  // namespace topicwire::sink

#endif  // TOPICWIRE_SINK_SINK_STAGE_H_
