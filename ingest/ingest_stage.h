// The ingest stage: answers publishers, makes accepted articles durable in the journal, hands
// them to classify workers against credit, and forgets them when sink confirms them. This is the
// socket pump; the work is done by the publish handler (group commit), the dispatcher (credit,
// in flight, redelivery) and the admin service (dead letters).
#ifndef TOPICWIRE_INGEST_INGEST_STAGE_H_
#define TOPICWIRE_INGEST_INGEST_STAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/readiness.h"
#include "common/time_util.h"
#include "common/zap_authenticator.h"
#include "ingest/admin_service.h"
#include "ingest/journal.h"
#include "ingest/request_parser.h"
#include "prometheus/registry.h"
#include "zmq.hpp"

namespace topicwire::ingest {

// What ingest's readiness waits for: the journal is open and every socket is bound.
enum IngestCondition : size_t { kServing };

// A Readiness with IngestCondition's conditions, unmet ("starting"; "stopping" once the stage
// stops): what IngestOptions::readiness expects.
std::shared_ptr<Readiness> NewIngestReadiness();

struct IngestOptions {
  // ROUTER bound for publishers (DEALER or REQ clients) sending PublishRequest.
  std::string publish_endpoint = "tcp://*:7400";
  // ROUTER bound for classify workers (DEALER) exchanging WorkerMessage / Dispatch.
  std::string work_endpoint = "tcp://*:7403";
  // PULL bound for sink's CommitAck.
  std::string commit_endpoint = "tcp://*:7405";
  // ROUTER bound for admin requests (proto/admin.proto: dead letters); empty: no admin socket
  // (the binary's --admin_endpoint defaults to tcp://127.0.0.1:7409).
  std::string admin_endpoint;
  // Page bounds of the admin replies (dead letters per list or replay reply, reply bytes).
  AdminServiceOptions admin{};
  // SQLite journal file; its directory is created when missing.
  std::string journal_path = "data/ingest/journal.db";
  // Largest serialized Article accepted, in bytes.
  int64_t max_article_bytes = 1 << 20;
  // Most articles one PublishRequest may hold; a larger request is refused whole.
  int64_t max_articles_per_request = kDefaultMaxArticlesPerRequest;
  // Most frames one message on any of the stage's sockets may have (a publisher's is
  // [routing id][empty][request] from REQ, [routing id][request] from DEALER; each proxy hop adds
  // a routing id). A longer message is refused whole; the frames past the cap are never kept.
  int max_frames_per_message = 8;
  // A dispatched article not confirmed by sink within this time is dispatched again.
  absl::Duration redelivery_timeout = absl::Seconds(10);
  // Heartbeat period towards workers; a worker silent for 3 periods is forgotten.
  absl::Duration heartbeat_interval = absl::Seconds(1);
  // How many recently accepted ids are remembered to answer DUPLICATE.
  int64_t dedup_window = 10'000'000;
  // Disk space the remembered ids of confirmed articles may take (SqliteJournalOptions); 0: no
  // bound.
  int64_t dedup_window_bytes = int64_t{256} << 20;
  // Ids of confirmed articles accepted longer ago than this are forgotten; infinite: no bound.
  absl::Duration dedup_window_age = absl::Hours(7 * 24);
  // Articles accepted and not yet confirmed by sink; at this many, new articles get BUSY.
  int64_t max_pending = 100'000;
  // Articles dispatched to workers and not yet committed by sink, at most. A worker returns
  // credit when it hands an item to sink, not when sink commits it, so without this bound a
  // slow sink lets items pile up between workers and sink until they outlive
  // redelivery_timeout and are redelivered needlessly.
  int64_t max_in_flight = 4096;
  // Delivery attempts (timed out, failed by a worker, or lost with a vanished worker) after
  // which an article is moved to the dead letters instead of being dispatched again.
  uint32_t max_attempts = 5;
  // Upper bound on the journal's size in bytes (0: none); at the bound publishers get BUSY as
  // with a full disk.
  int64_t max_journal_bytes = 0;
  // fsync every group commit before answering ACCEPTED (false: faster, not power-loss safe).
  bool fsync = true;
  // How long unsent replies may delay exit.
  int linger_ms = 1000;
  // Most publish requests drained into one group commit.
  int max_requests_per_commit = 512;
  // Replies queued for one publisher that has not read them; beyond it, its further replies are
  // dropped and counted (topicwire_ingest_replies_undelivered_total). At least the number of
  // requests a publisher keeps in flight.
  int max_queued_replies_per_publisher = 64;
  // Metrics are registered here; a private registry is used when null.
  std::shared_ptr<prometheus::Registry> registry;
  // Set ready once the journal is open and the sockets are bound; may be null.
  std::shared_ptr<Readiness> readiness;
  // Timers (heartbeats, worker liveness, redelivery, backoff) read clocks.monotonic, so that
  // setting the wall clock cannot forget workers or stop heartbeats; the times kept for users
  // (delivery attempts) read clocks.wall. Tests substitute either.
  Clocks clocks{};
  // CurveZMQ on every endpoint (common/zap_authenticator.h): publish admits the client keys,
  // work and commit the stage keys, admin the admin keys; no key file: all plaintext.
  curve::ServerOptions curve{};
};

// Runs the stage on the SQLite journal at options.journal_path until `shutdown_fd` becomes
// readable; then answers every request already read, closes the sockets and returns OK.
// Returns an error for infrastructure failures (bind, journal I/O).
absl::Status RunStage(zmq::context_t& context, const IngestOptions& options, int shutdown_fd);

// Same, on a caller-provided journal (options.journal_path, fsync and the dedup_window* options
// unused).
absl::Status RunStage(zmq::context_t& context, const IngestOptions& options, Journal& journal,
                      int shutdown_fd);

}  // namespace topicwire::ingest

#endif  // TOPICWIRE_INGEST_INGEST_STAGE_H_
