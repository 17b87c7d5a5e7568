#include "ingest/dispatcher.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/time_util.h"
#include "google/protobuf/util/time_util.h"
#include "spdlog/spdlog.h"

namespace topicwire::ingest {
namespace {

// After this many deliveries of one article, further redeliveries back off (and are logged as
// errors) instead of following each other at the redelivery timeout.
constexpr uint32_t kAttemptsBeforeBackoff = 5;
constexpr absl::Duration kMaxBackoff = absl::Minutes(5);
// Keeps one Dispatch frame far below the socket's frame cap.
constexpr size_t kMaxDispatchBytes = 16 << 20;
// A worker never holds more than this, whatever credit it claims.
constexpr uint64_t kMaxCredit = 1 << 20;

std::string Printable(absl::string_view routing_id) { return absl::BytesToHexString(routing_id); }

}  // namespace

Dispatcher::Dispatcher(const DispatcherOptions& options, Journal& journal, IngestMetrics& metrics,
                       absl::Time now)
    : options_(options),
      journal_(journal),
      metrics_(metrics),
      next_heartbeat_(now + options.heartbeat_interval) {
  UpdateGauges();
}

void Dispatcher::Add(PendingRecord record) {
  Item& item = pending_[record.journal_seq];
  item.article_id = std::move(record.article_id);
  item.accepted_at = record.accepted_at;
  item.attempts = record.attempts;  // persisted: a poison article keeps its count
  item.deliveries = std::max(item.deliveries, record.attempts);
  item.first_attempt = record.first_attempt;
  ready_.insert(record.journal_seq);
  UpdateGauges();
}

bool Dispatcher::OnWorkerMessage(const std::string& routing_id, const v1::WorkerMessage& message,
                                 absl::Time now) {
  if (message.kind_case() == v1::WorkerMessage::kGoodbye) {
    // Items in its hands still reach sink; any that do not are redelivered on timeout.
    if (workers_.contains(routing_id)) {
      ForgetWorker(routing_id, /*requeue_in_flight=*/false, "said goodbye");
    }
    return true;
  }
  const bool registers =
      message.kind_case() == v1::WorkerMessage::kCredit && message.credit().registers();
  auto it = workers_.find(routing_id);
  if (it == workers_.end()) {
    if (!registers) {
      // Forgotten while its loop was blocked, it still hears our heartbeats and would never
      // notice; credit it granted before is lost, so a fresh registration is the only way back.
      spdlog::info("unknown worker {}: asking it to register again", Printable(routing_id));
      return false;
    }
    it = workers_.try_emplace(routing_id).first;
    spdlog::info("worker {} connected", Printable(routing_id));
  }
  Worker& worker = it->second;
  worker.last_heard = now;
  switch (message.kind_case()) {
    case v1::WorkerMessage::kCredit:
      worker.credit =
          std::min(kMaxCredit, (registers ? 0 : worker.credit) + message.credit().credit());
      break;
    case v1::WorkerMessage::kFailed: {
      const uint64_t seq = message.failed().journal_seq();
      if (auto item = pending_.find(seq);
          item != pending_.end() && worker.in_flight.contains(seq)) {
        EndDelivery(seq, item->second);
        worker.timed_out.erase(seq);  // counted now, not again should it vanish
        Requeue(seq, absl::StrCat("worker ", Printable(routing_id),
                                  " failed it: ", message.failed().reason()));
      }
      break;
    }
    default:
      break;  // heartbeat: hearing from it is the point
  }
  UpdateGauges();
  return true;
}

absl::Status Dispatcher::Commit(const std::vector<CommitMark>& marks) {
  std::vector<CommitMark> matching;
  for (const auto& [seq, article_id] : marks) {
    auto it = pending_.find(seq);
    if (it == pending_.end()) continue;  // confirmed before: a redelivery was stored again
    if (it->second.article_id != article_id) {
      spdlog::warn("ignoring a commit of journal_seq {} for article '{}': that record holds '{}'",
                   seq, absl::CHexEscape(article_id), it->second.article_id);
      continue;
    }
    matching.emplace_back(seq, article_id);
  }
  if (matching.empty()) return absl::OkStatus();
  absl::StatusOr<std::vector<uint64_t>> marked = journal_.MarkCommitted(matching);
  if (absl::IsResourceExhausted(marked.status())) {
    // The records stay pending and are redelivered later; sink stores them once.
    spdlog::warn("could not mark {} records committed: {}", matching.size(),
                 marked.status().ToString());
    return absl::OkStatus();
  }
  if (!marked.ok()) return marked.status();
  for (const uint64_t seq : *marked) {
    auto it = pending_.find(seq);
    if (it == pending_.end()) continue;
    Item& item = it->second;
    EndDelivery(seq, item);
    for (auto& [routing_id, worker] : workers_) worker.timed_out.erase(seq);
    ready_.erase(seq);
    if (item.backing_off) delayed_.erase({item.retry_at, seq});
    pending_.erase(it);
  }
  metrics_.journal_bytes.Set(static_cast<double>(journal_.SizeBytes()));
  UpdateGauges();
  return absl::OkStatus();
}

void Dispatcher::Requeue(uint64_t seq, absl::string_view why) {
  auto it = pending_.find(seq);
  if (it == pending_.end()) return;
  Item& item = it->second;
  ++item.attempts;
  item.deliveries = std::max(item.deliveries, item.attempts);
  metrics_.failed_attempts.Increment();
  const DeliveryFailure failure{.attempts = item.attempts,
                                .first_attempt = item.first_attempt,
                                .last_attempt = options_.clocks.wall(),
                                .reason = std::string(why)};
  if (item.in_flight) {
    // Counted against an earlier holder; the delivery in progress decides what comes next.
    if (absl::Status recorded = journal_.RecordFailure(seq, failure); !recorded.ok()) {
      spdlog::warn("could not persist the failed attempt of journal_seq {}: {}", seq,
                   recorded.ToString());
    }
    return;
  }
  ready_.erase(seq);
  if (item.backing_off) {
    delayed_.erase({item.retry_at, seq});
    item.backing_off = false;
  }
  if (item.attempts >= options_.max_attempts) {
    // A poison article: set it aside (kept in the journal) instead of retrying it forever.
    if (absl::Status moved = journal_.MoveToDeadLetters(seq, failure); moved.ok()) {
      spdlog::error(
          "article {} (journal_seq {}) failed {} delivery attempts (last: {}); moved to the dead "
          "letters (see `topicwire deadletters list`)",
          item.article_id, seq, item.attempts, std::string(why));
      metrics_.dead_lettered.Increment();
      pending_.erase(it);
      UpdateGauges();
      metrics_.dead_letters.Increment();
      return;
    } else {
      spdlog::error("could not move journal_seq {} to the dead letters, retrying it: {}", seq,
                    moved.ToString());
    }
  } else if (absl::Status recorded = journal_.RecordFailure(seq, failure); !recorded.ok()) {
    spdlog::warn("could not persist the failed attempt of journal_seq {}: {}", seq,
                 recorded.ToString());
  }
  if (item.attempts < kAttemptsBeforeBackoff) {
    spdlog::debug("requeueing journal_seq {} after attempt {}: {}", seq, item.attempts,
                  std::string(why));
    ready_.insert(seq);
    return;
  }
  const absl::Duration backoff = std::min(
      kMaxBackoff, options_.redelivery_timeout * (int64_t{1} << std::min<uint32_t>(
                                                      item.attempts - kAttemptsBeforeBackoff, 10)));
  spdlog::error(
      "article {} (journal_seq {}) is still not stored after {} attempts ({}); "
      "retrying in {}",
      item.article_id, seq, item.attempts, std::string(why), absl::FormatDuration(backoff));
  item.backing_off = true;
  item.retry_at = options_.clocks.monotonic() + backoff;
  delayed_.insert({item.retry_at, seq});
}

void Dispatcher::EndDelivery(uint64_t seq, Item& item) {
  if (!item.in_flight) return;
  deadlines_.erase({item.deadline, seq});
  if (auto worker = workers_.find(item.worker); worker != workers_.end()) {
    worker->second.in_flight.erase(seq);
  }
  item.in_flight = false;
  item.worker.clear();
}

void Dispatcher::ForgetWorker(const std::string& routing_id, bool requeue_in_flight,
                              absl::string_view why) {
  auto it = workers_.find(routing_id);
  if (it == workers_.end()) return;
  const Worker gone = std::move(it->second);
  workers_.erase(it);
  spdlog::info("forgetting worker {}: {}; {} articles {}", Printable(routing_id), std::string(why),
               gone.in_flight.size(), requeue_in_flight ? "requeued" : "left to their deadline");
  if (requeue_in_flight) {
    const std::string reason = absl::StrCat("worker ", why);
    for (const uint64_t seq : gone.in_flight) {
      if (auto item = pending_.find(seq); item != pending_.end()) {
        EndDelivery(seq, item->second);
        Requeue(seq, reason);
      }
    }
    for (const uint64_t seq : gone.timed_out) {
      if (!gone.in_flight.contains(seq)) Requeue(seq, reason);
    }
  }
  UpdateGauges();
}

std::vector<std::string> Dispatcher::Tick(absl::Time now) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const uint64_t seq = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = pending_.find(seq);
    if (it == pending_.end()) continue;
    Item& item = it->second;
    // A worker that is still heard from handed the item on, or holds it while sink is stalled or
    // unreachable: redeliver without using an attempt. Should it vanish before the item is
    // confirmed, that counts then (see ForgetWorker).
    if (auto worker = workers_.find(item.worker); worker != workers_.end()) {
      worker->second.in_flight.erase(seq);
      worker->second.timed_out.insert(seq);
    }
    item.in_flight = false;  // its deadline entry is already gone
    item.worker.clear();
    spdlog::debug("journal_seq {} not confirmed by sink within --redelivery_timeout; redelivering",
                  seq);
    ready_.insert(seq);
  }
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    const uint64_t seq = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    if (auto it = pending_.find(seq); it != pending_.end()) {
      it->second.backing_off = false;
      ready_.insert(seq);
    }
  }
  if (now < next_heartbeat_) return {};
  next_heartbeat_ = now + options_.heartbeat_interval;
  std::vector<std::string> silent;
  std::vector<std::string> alive;
  for (const auto& [routing_id, worker] : workers_) {
    if (now - worker.last_heard > 3 * options_.heartbeat_interval) {
      silent.push_back(routing_id);
    } else {
      alive.push_back(routing_id);
    }
  }
  for (const std::string& routing_id : silent) {
    ForgetWorker(routing_id, /*requeue_in_flight=*/true, "silent for 3 heartbeat intervals");
  }
  UpdateGauges();
  return alive;
}

std::vector<std::string> Dispatcher::RoundRobinOrder() const {
  std::vector<std::string> order;
  order.reserve(workers_.size());
  // Start after the worker served last.
  const auto after_last = workers_.upper_bound(last_served_worker_);
  for (auto it = after_last; it != workers_.end(); ++it) order.push_back(it->first);
  for (auto it = workers_.begin(); it != after_last; ++it) order.push_back(it->first);
  return order;
}

absl::StatusOr<std::optional<DispatchBatch>> Dispatcher::TakeBatch(const std::string& routing_id) {
  const int64_t in_flight = static_cast<int64_t>(deadlines_.size());
  if (ready_.empty() || in_flight >= options_.max_in_flight) {
    return std::nullopt;  // commits from sink make room
  }
  const size_t room = static_cast<size_t>(options_.max_in_flight - in_flight);
  auto worker_it = workers_.find(routing_id);
  if (worker_it == workers_.end() || worker_it->second.credit == 0) return std::nullopt;
  const Worker& worker = worker_it->second;

  DispatchBatch batch;
  batch.worker = routing_id;
  size_t bytes = 0;
  while (!ready_.empty() && batch.seqs.size() < worker.credit && batch.seqs.size() < room &&
         bytes < kMaxDispatchBytes) {
    const uint64_t seq = *ready_.begin();
    ready_.erase(ready_.begin());
    Item& item = pending_.at(seq);
    absl::StatusOr<std::string> serialized = journal_.ReadArticle(seq);
    if (absl::IsNotFound(serialized.status())) {
      pending_.erase(seq);  // confirmed meanwhile
      continue;
    }
    if (!serialized.ok()) {
      NotSent(batch);
      return serialized.status();
    }
    v1::WorkItem* work_item = batch.dispatch.add_items();
    if (!work_item->mutable_article()->ParseFromString(*serialized)) {
      spdlog::critical("journal record {} does not parse as an Article", seq);
      std::abort();  // we wrote it ourselves: the journal is corrupt
    }
    work_item->set_journal_seq(seq);
    *work_item->mutable_accepted_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
        absl::ToUnixNanos(item.accepted_at));
    work_item->set_attempt(item.deliveries + 1);
    bytes += serialized->size();
    batch.seqs.push_back(seq);
  }
  UpdateGauges();
  if (batch.seqs.empty()) return std::nullopt;
  return batch;
}

void Dispatcher::Sent(const DispatchBatch& batch, absl::Time now) {
  auto worker_it = workers_.find(batch.worker);
  if (worker_it == workers_.end()) {  // cannot happen: only a send failure forgets a worker
    NotSent(batch);
    return;
  }
  Worker& worker = worker_it->second;
  last_served_worker_ = batch.worker;
  worker.credit -= std::min<uint64_t>(worker.credit, batch.seqs.size());
  const absl::Time deadline = now + options_.redelivery_timeout;
  for (const uint64_t seq : batch.seqs) {
    Item& item = pending_.at(seq);
    if (++item.deliveries > 1) metrics_.redeliveries.Increment();
    if (item.first_attempt == absl::InfinitePast()) item.first_attempt = options_.clocks.wall();
    item.in_flight = true;
    item.worker = batch.worker;
    item.deadline = deadline;
    deadlines_.insert({deadline, seq});
    worker.in_flight.insert(seq);
  }
  UpdateGauges();
}

void Dispatcher::NotSent(const DispatchBatch& batch) {
  ready_.insert(batch.seqs.begin(), batch.seqs.end());  // not delivered: no attempt used
}

absl::Time Dispatcher::NextEvent() const {
  absl::Time next = next_heartbeat_;
  if (!deadlines_.empty()) next = std::min(next, deadlines_.begin()->first);
  if (!delayed_.empty()) next = std::min(next, delayed_.begin()->first);
  return next;
}

void Dispatcher::UpdateGauges() {
  metrics_.pending.Set(static_cast<double>(pending_.size()));
  metrics_.in_flight.Set(static_cast<double>(deadlines_.size()));
  metrics_.workers.Set(static_cast<double>(workers_.size()));
}

}  // namespace topicwire::ingest
