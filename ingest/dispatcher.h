// The Dispatcher: which accepted article goes to which classify worker, and when again. It keeps
// worker credit, what is in flight and until when, redelivers what sink did not confirm in time,
// counts failed attempts (backing off, then setting poison articles aside as dead letters). Only a
// worker's explicit failure or a worker that vanishes holding an item counts as a failed attempt:
// a redelivery timeout while the holding worker is alive (a stalled or unreachable sink) does not.
// It owns no socket: it says what to send and the stage sends it.
#ifndef TOPICWIRE_INGEST_DISPATCHER_H_
#define TOPICWIRE_INGEST_DISPATCHER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/time_util.h"
#include "ingest/ingest_metrics.h"
#include "ingest/journal.h"
#include "proto/internal.pb.h"

namespace topicwire::ingest {

struct DispatcherOptions {
  // A dispatched article not confirmed by sink within this time is dispatched again. The timeout
  // alone uses no attempt: only a failure or the holding worker vanishing does.
  absl::Duration redelivery_timeout = absl::Seconds(10);
  // Heartbeat period towards workers; a worker silent for 3 periods is forgotten.
  absl::Duration heartbeat_interval = absl::Seconds(1);
  // Articles dispatched to workers and not yet committed by sink, at most.
  int64_t max_in_flight = 4096;
  // Failed attempts (explicit failures and vanished workers) after which an article is moved to
  // the dead letters.
  uint32_t max_attempts = 5;
  // Backoffs read clocks.monotonic; the attempt times kept for users read clocks.wall.
  Clocks clocks{};
};

// Articles for one worker: the stage sends `dispatch` to `worker` and reports the outcome with
// Sent() or NotSent().
struct DispatchBatch {
  std::string worker;          // routing id
  v1::Dispatch dispatch;       // the work items, articles read from the journal
  std::vector<uint64_t> seqs;  // their journal sequence numbers, in `dispatch`'s order
};

// Every `now` is a MonotonicNow() (common/time_util.h); timestamps kept for users are wall clock.
// Not thread-safe: the stage thread owns it. Reads and writes the journal (articles, failed
// attempts, dead letters, commit marks) and updates the pending/in-flight/worker gauges.
class Dispatcher {
 public:
  // `journal` and `metrics` must outlive the dispatcher.
  Dispatcher(const DispatcherOptions& options, Journal& journal, IngestMetrics& metrics,
             absl::Time now);

  // A pending record (recovered, newly accepted or replayed) becomes ready to dispatch; its
  // persisted attempt count is kept.
  void Add(PendingRecord record);
  // Accepted, unconfirmed records held (ready, in flight or backing off).
  size_t pending() const { return pending_.size(); }
  // Items in flight (dispatched, not yet committed or timed out).
  size_t in_flight() const { return deadlines_.size(); }
  size_t workers() const { return workers_.size(); }

  // A message from worker `worker` on the work socket: a registration, credit, a failed item, a
  // heartbeat or a goodbye. Returns false when `worker` is not registered (new, or forgotten after
  // missed heartbeats) and the message is not a registration: the stage must then tell it to
  // register again (Dispatch.register_again), since credit it granted before is lost.
  bool OnWorkerMessage(const std::string& worker, const v1::WorkerMessage& message, absl::Time now);

  // Sink confirmed these records: marks them committed in the journal and forgets them. A mark
  // whose article id does not match the pending record is ignored. A full journal disk is not
  // an error (the records are redelivered later); other journal failures are.
  absl::Status Commit(const std::vector<CommitMark>& marks);

  // Moves timed-out items and items whose backoff ended back to ready. When a heartbeat is due,
  // forgets workers silent for 3 heartbeat intervals and returns the workers to send a
  // heartbeat (an empty Dispatch) to; else returns nothing.
  std::vector<std::string> Tick(absl::Time now);
  // The worker vanished (a send failed with kNotFound, or it is silent): forgets it and, when
  // `requeue_in_flight`, requeues its items, each a failed attempt; so is each item that timed out
  // in its hands earlier and is still unconfirmed (it may have died of it).
  void ForgetWorker(const std::string& worker, bool requeue_in_flight, absl::string_view why);

  // The workers in the order the next dispatch round serves them (round robin from the one
  // served last).
  std::vector<std::string> RoundRobinOrder() const;
  // Takes the next batch of ready items for `worker` within its credit, the in-flight bound and
  // a frame-size bound; nothing when it has no credit or nothing is ready. An error is a
  // journal read failure.
  absl::StatusOr<std::optional<DispatchBatch>> TakeBatch(const std::string& worker);
  // `batch` reached the worker at `now`: its items are in flight until the redelivery timeout.
  void Sent(const DispatchBatch& batch, absl::Time now);
  // `batch` did not reach the worker: its items are ready again, no attempt used.
  void NotSent(const DispatchBatch& batch);

  // When Tick() next has work (a deadline, a backoff end or a heartbeat).
  absl::Time NextEvent() const;

 private:
  struct Item {
    std::string article_id;
    absl::Time accepted_at;
    uint32_t attempts = 0;    // failed attempts so far (persisted)
    uint32_t deliveries = 0;  // dispatches so far, at least `attempts`
    absl::Time first_attempt = absl::InfinitePast();
    bool in_flight = false;
    std::string worker;   // routing id while in flight
    absl::Time deadline;  // redelivery time while in flight
    bool backing_off = false;
    absl::Time retry_at;  // when a backing-off item becomes ready again
  };
  struct Worker {
    uint64_t credit = 0;
    absl::Time last_heard;
    std::set<uint64_t> in_flight;
    // Items whose redelivery timeout passed in this worker's hands while it was alive: not a
    // failed attempt unless the worker vanishes before they are confirmed.
    std::set<uint64_t> timed_out;
  };

  // The item failed an attempt (counted and persisted). Unless it is in flight elsewhere: ready
  // again, backing off, or (at max_attempts) a dead letter.
  void Requeue(uint64_t seq, absl::string_view why);
  // Takes the in-flight item out of its worker's hands and off the deadline list.
  void EndDelivery(uint64_t seq, Item& item);
  void UpdateGauges();

  const DispatcherOptions options_;
  Journal& journal_;
  IngestMetrics& metrics_;
  std::map<uint64_t, Item> pending_;                     // every accepted, unconfirmed record
  std::set<uint64_t> ready_;                             // waiting for a worker, oldest first
  std::set<std::pair<absl::Time, uint64_t>> delayed_;    // backing off until the time
  std::set<std::pair<absl::Time, uint64_t>> deadlines_;  // in flight until the time
  std::map<std::string, Worker> workers_;
  std::string last_served_worker_;
  absl::Time next_heartbeat_;
};

}  // namespace topicwire::ingest

#endif  // TOPICWIRE_INGEST_DISPATCHER_H_
