#include "ingest/ingest_stage.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "common/zmq_channel.h"
#include "google/protobuf/timestamp.pb.h"
#include "ingest/article_id.h"
#include "ingest/ingest_metrics.h"
#include "ingest/request_parser.h"
#include "ingest/validator.h"
#include "proto/admin.pb.h"
#include "proto/article.pb.h"
#include "proto/internal.pb.h"
#include "spdlog/spdlog.h"

namespace topicwire::ingest {

absl::Status IngestReadiness::Check() const {
  switch (ready_.load()) {
    case 1:
      return absl::OkStatus();
    case 2:
      return absl::UnavailableError("ingest is stopping");
    default:
      return absl::UnavailableError("ingest is starting: journal not open or sockets not bound");
  }
}

namespace {

// After this many deliveries of one article, further redeliveries back off (and are logged as
// errors) instead of following each other at the redelivery timeout.
constexpr uint32_t kAttemptsBeforeBackoff = 5;
constexpr absl::Duration kMaxBackoff = absl::Minutes(5);
// Bounds the memory one group commit holds (the request count is bounded by Options too).
constexpr size_t kMaxGroupCommitBytes = 64 << 20;
// Keeps one Dispatch frame far below the socket's frame cap.
constexpr size_t kMaxDispatchBytes = 16 << 20;
// A worker never holds more than this, whatever credit it claims.
constexpr uint64_t kMaxCredit = 1 << 20;

std::string Printable(absl::string_view routing_id) { return absl::BytesToHexString(routing_id); }

// A publish request read from the socket and the reply being prepared for it.
struct InProgressRequest {
  Frames envelope;  // routing id (and REQ's empty delimiter), mirrored in the reply
  v1::PublishReply reply;
};

class Stage {
 public:
  Stage(zmq::context_t& context, const Options& options, Journal& journal)
      : options_(options),
        journal_(journal),
        registry_(options.registry ? options.registry : std::make_shared<prometheus::Registry>()),
        metrics_(*registry_),
        publish_(context, zmq::socket_type::router),
        work_(context, zmq::socket_type::router),
        commit_(context, zmq::socket_type::pull),
        admin_(context, zmq::socket_type::router) {}

  absl::Status Run(int shutdown_fd);

  // Starts the CURVE authenticator when options.curve asks for it. REQUIRES: before Run().
  absl::Status StartCurve(zmq::context_t& context) {
    if (!options_.curve.enabled()) return absl::OkStatus();
    ASSIGN_OR_RETURN(curve_, curve::Authenticator::Start(context, options_.curve, *registry_,
                                                         "topicwire_ingest_auth_refused_total"));
    spdlog::info("publish endpoint requires CURVE: server key {}, clients allowed by {}",
                 curve_->public_key(), options_.curve.allow_list_file);
    return absl::OkStatus();
  }

 private:
  struct Item {
    std::string article_id;
    absl::Time accepted_at;
    uint32_t attempts = 0;  // deliveries so far
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
  };

  absl::Status Setup();
  absl::Status HandlePublish();
  void ProcessRequest(const zmq::message_t& payload, InProgressRequest& request,
                      std::vector<NewRecord>& records, std::vector<v1::PublishAck*>& accepted_acks,
                      absl::flat_hash_set<std::string>& ids_in_batch, absl::Status& journal_error);
  absl::Status HandleWork();
  absl::Status HandleCommits();
  absl::Status HandleAdmin();
  void ListDeadLetters(v1::AdminReply& reply);
  void ReplayDeadLetters(const v1::DeadLetterReplayRequest& request, v1::AdminReply& reply);
  absl::Status DispatchReady();
  absl::Status Tick();
  absl::Duration TimeUntilNextEvent() const;
  void Requeue(uint64_t seq, absl::string_view why);
  void ForgetWorker(const std::string& routing_id, bool requeue_in_flight, absl::string_view why);
  void UpdateGauges();

  const Options& options_;
  Journal& journal_;
  std::shared_ptr<prometheus::Registry> registry_;
  IngestMetrics metrics_;
  zmq::socket_t publish_;
  zmq::socket_t work_;
  zmq::socket_t commit_;
  zmq::socket_t admin_;
  std::unique_ptr<curve::Authenticator> curve_;  // null: the publish endpoint is plaintext

  std::map<uint64_t, Item> pending_;                     // every accepted, unconfirmed record
  std::set<uint64_t> ready_;                             // waiting for a worker, oldest first
  std::set<std::pair<absl::Time, uint64_t>> delayed_;    // backing off until the time
  std::set<std::pair<absl::Time, uint64_t>> deadlines_;  // in flight until the time
  std::map<std::string, Worker> workers_;
  std::string last_served_worker_;
  absl::Time next_heartbeat_;
};

absl::Status Stage::Setup() {
  RETURN_IF_ERROR(ConfigureSocket(publish_, options_.linger_ms));
  RETURN_IF_ERROR(ConfigureSocket(work_, 0));
  RETURN_IF_ERROR(ConfigureSocket(commit_, 0));
  // A send to a worker that vanished must fail (kNotFound) so its items are requeued, instead
  // of being dropped silently.
  RETURN_IF_ERROR(SetRouterMandatory(work_, true));
  if (curve_ != nullptr) RETURN_IF_ERROR(curve_->SecureServer(publish_));
  RETURN_IF_ERROR(Bind(publish_, options_.publish_endpoint));
  RETURN_IF_ERROR(Bind(work_, options_.work_endpoint));
  RETURN_IF_ERROR(Bind(commit_, options_.commit_endpoint));
  if (!options_.admin_endpoint.empty()) {
    RETURN_IF_ERROR(ConfigureSocket(admin_, 0));
    // The admin socket is not on the data path: a taken port must not stop articles flowing
    // (several local ingests share the default), so it is a loud warning, not an exit.
    if (absl::Status bound = Bind(admin_, options_.admin_endpoint); !bound.ok()) {
      spdlog::error(
          "no admin endpoint: {}; dead letters are still kept, but `topicwire deadletters` "
          "cannot reach this ingest (choose another --admin_endpoint)",
          bound.ToString());
    } else {
      ASSIGN_OR_RETURN(const std::string admin_bound, LastEndpoint(admin_));
      spdlog::info("admin (dead letters) on {}", admin_bound);
    }
  }

  const JournalRecovery recovery = journal_.recovery();
  metrics_.journal_quarantined_records.Increment(static_cast<double>(recovery.quarantined_records));
  if (recovery.database_replaced) metrics_.journal_replaced.Increment();
  ASSIGN_OR_RETURN(std::vector<PendingRecord> recovered, journal_.LoadPending());
  for (PendingRecord& record : recovered) {
    Item& item = pending_[record.journal_seq];
    item.article_id = std::move(record.article_id);
    item.accepted_at = record.accepted_at;
    item.attempts = record.attempts;  // persisted: a poison article keeps its count
    item.first_attempt = record.first_attempt;
    ready_.insert(record.journal_seq);
  }
  ASSIGN_OR_RETURN(const int64_t dead_letters, journal_.CountDeadLetters());
  metrics_.dead_letters.Set(static_cast<double>(dead_letters));
  // The endpoints as bound, with wildcard ports resolved, so the log says where to connect.
  ASSIGN_OR_RETURN(const std::string publish_bound, LastEndpoint(publish_));
  ASSIGN_OR_RETURN(const std::string work_bound, LastEndpoint(work_));
  ASSIGN_OR_RETURN(const std::string commit_bound, LastEndpoint(commit_));
  spdlog::info(
      "publish {} work {} commit {} journal {}; recovered {} pending articles from the journal",
      publish_bound, work_bound, commit_bound, options_.journal_path, recovered.size());
  next_heartbeat_ = absl::Now() + options_.heartbeat_interval;
  metrics_.journal_bytes.Set(static_cast<double>(journal_.SizeBytes()));
  UpdateGauges();
  return absl::OkStatus();
}

absl::Status Stage::Run(int shutdown_fd) {
  RETURN_IF_ERROR(Setup());
  if (options_.readiness) options_.readiness->SetReady(true);
  absl::Status status;
  while (status.ok()) {
    std::vector<zmq::pollitem_t> items = {
        {nullptr, shutdown_fd, ZMQ_POLLIN, 0},
        {publish_.handle(), 0, ZMQ_POLLIN, 0},
        {work_.handle(), 0, ZMQ_POLLIN, 0},
        {commit_.handle(), 0, ZMQ_POLLIN, 0},
        // Without an admin endpoint the socket is never bound and never readable.
        {admin_.handle(), 0, ZMQ_POLLIN, 0},
    };
    absl::StatusOr<int> ready = Poll(items, TimeUntilNextEvent());
    if (!ready.ok()) {
      status = ready.status();
      break;
    }
    if (items[0].revents & ZMQ_POLLIN) break;  // shutdown: stop taking input
    if (items[3].revents & ZMQ_POLLIN) status.Update(HandleCommits());
    if (status.ok() && (items[2].revents & ZMQ_POLLIN)) status.Update(HandleWork());
    if (status.ok() && (items[1].revents & ZMQ_POLLIN)) status.Update(HandlePublish());
    if (status.ok() && (items[4].revents & ZMQ_POLLIN)) status.Update(HandleAdmin());
    if (status.ok()) status.Update(Tick());
    if (status.ok()) status.Update(DispatchReady());
  }
  if (options_.readiness) options_.readiness->SetReady(false);
  // Confirmations that already arrived save redeliveries after a restart.
  if (status.ok()) status.Update(HandleCommits());
  spdlog::info(
      "stopping: received={} accepted={} duplicate={} busy={} redeliveries={} pending={} "
      "rejected: empty={} utf8={} too_large={} bad_url={} bad_id={} malformed_frame={}",
      metrics_.received.Value(), metrics_.accepted.Value(), metrics_.duplicate.Value(),
      metrics_.busy.Value(), metrics_.redeliveries.Value(), pending_.size(),
      metrics_.Rejected(RejectKind::kEmpty).Value(), metrics_.Rejected(RejectKind::kUtf8).Value(),
      metrics_.Rejected(RejectKind::kTooLarge).Value(),
      metrics_.Rejected(RejectKind::kBadUrl).Value(), metrics_.Rejected(RejectKind::kBadId).Value(),
      metrics_.Rejected(RejectKind::kMalformed).Value());
  return status;
}

absl::Duration Stage::TimeUntilNextEvent() const {
  absl::Time next = next_heartbeat_;
  if (!deadlines_.empty()) next = std::min(next, deadlines_.begin()->first);
  if (!delayed_.empty()) next = std::min(next, delayed_.begin()->first);
  // Rounded up: poll counts whole milliseconds, and waking early would spin until the event.
  return absl::Ceil(std::max(absl::ZeroDuration(), next - absl::Now()), absl::Milliseconds(1));
}

absl::Status Stage::HandlePublish() {
  // Group commit: everything readable now (up to a bound) shares one journal transaction.
  std::vector<InProgressRequest> requests;
  std::vector<NewRecord> records;
  std::vector<v1::PublishAck*> accepted_acks;  // parallel to `records`
  absl::flat_hash_set<std::string> ids_in_batch;
  absl::Status journal_error;
  size_t drained_bytes = 0;
  requests.reserve(options_.max_requests_per_commit);  // keeps the ack pointers stable
  while (static_cast<int>(requests.size()) < options_.max_requests_per_commit &&
         drained_bytes < kMaxGroupCommitBytes) {
    Frames frames;
    ASSIGN_OR_RETURN(bool got, RecvFrames(publish_, frames, /*dont_wait=*/true));
    if (!got) break;
    if (frames.size() < 2) continue;  // a ROUTER always prepends the routing id
    drained_bytes += frames.back().size();
    zmq::message_t payload = std::move(frames.back());
    frames.pop_back();
    InProgressRequest& request = requests.emplace_back();
    request.envelope = std::move(frames);
    ProcessRequest(payload, request, records, accepted_acks, ids_in_batch, journal_error);
  }

  if (!records.empty() && journal_error.ok()) {
    const absl::Time accepted_at = absl::Now();
    absl::StatusOr<std::vector<uint64_t>> seqs = journal_.Append(records, accepted_at);
    metrics_.journal_commit_seconds.Observe(absl::ToDoubleSeconds(absl::Now() - accepted_at));
    if (seqs.ok()) {
      for (size_t i = 0; i < records.size(); ++i) {
        Item& item = pending_[(*seqs)[i]];
        item.article_id = std::move(records[i].article_id);
        item.accepted_at = accepted_at;
        ready_.insert((*seqs)[i]);
      }
      metrics_.accepted.Increment(static_cast<double>(records.size()));
      metrics_.journal_bytes.Set(static_cast<double>(journal_.SizeBytes()));
    } else {
      journal_error = seqs.status();
    }
  }
  if (!journal_error.ok()) {
    // Nothing of this batch is durable: say so and keep running, so that publishers' retries
    // succeed as soon as the disk has room again (nothing answered ACCEPTED was lost).
    const bool full = absl::IsResourceExhausted(journal_error);
    const std::string reason = full ? "ingest's journal disk is full; retry later"
                                    : absl::StrCat("ingest cannot write its journal right now (",
                                                   journal_error.message(), "); retry later");
    for (v1::PublishAck* ack : accepted_acks) {
      ack->set_status(v1::PublishAck::BUSY);
      ack->set_reason(reason);
    }
    metrics_.busy.Increment(static_cast<double>(accepted_acks.size()));
    if (full) metrics_.journal_full.Increment();
    spdlog::error("answered {} articles BUSY: {}", accepted_acks.size(), journal_error.ToString());
  }

  UpdateGauges();  // before the replies, so that a publisher never sees a stale gauge
  for (InProgressRequest& request : requests) {
    Frames reply = std::move(request.envelope);
    reply.push_back(ToFrame(request.reply));
    if (absl::Status sent = SendFrames(publish_, reply); !sent.ok()) {
      spdlog::warn("could not answer a publisher: {}", sent.ToString());
    }
  }
  return absl::OkStatus();
}

void Stage::ProcessRequest(const zmq::message_t& payload, InProgressRequest& request,
                           std::vector<NewRecord>& records,
                           std::vector<v1::PublishAck*>& accepted_acks,
                           absl::flat_hash_set<std::string>& ids_in_batch,
                           absl::Status& journal_error) {
  absl::StatusOr<std::vector<IncomingArticle>> incoming = ParsePublishFrame(
      absl::string_view(static_cast<const char*>(payload.data()), payload.size()));
  if (!incoming.ok()) {
    metrics_.Rejected(RejectKind::kMalformed).Increment();
    spdlog::warn("rejecting a publish frame from {}: {}",
                 Printable(request.envelope[0].to_string()),
                 std::string(incoming.status().message()));
    request.reply.set_error(std::string(incoming.status().message()));
    return;
  }
  const ValidatorOptions validator_options{.max_article_bytes = options_.max_article_bytes};
  for (size_t index = 0; index < incoming->size(); ++index) {
    IncomingArticle& article = (*incoming)[index];
    metrics_.received.Increment();
    v1::PublishAck* ack = request.reply.add_acks();
    ack->set_index(static_cast<uint32_t>(index));
    ack->set_id(article.publisher_id);
    std::optional<Rejection> rejection = std::move(article.rejection);
    if (!rejection.has_value()) {
      rejection = ValidateArticle(article.article, article.serialized_bytes, validator_options);
    }
    if (rejection.has_value()) {
      metrics_.Rejected(rejection->kind).Increment();
      spdlog::warn("rejecting article {} (id '{}'): {}", index, absl::CHexEscape(ack->id()),
                   rejection->reason);
      ack->set_status(v1::PublishAck::REJECTED);
      ack->set_reason(std::move(rejection->reason));
      continue;
    }
    if (article.article.id().empty()) article.article.set_id(DeriveArticleId(article.article));
    const std::string& id = article.article.id();
    ack->set_id(id);
    bool duplicate = ids_in_batch.contains(id);
    if (!duplicate && journal_error.ok()) {
      absl::StatusOr<bool> known = journal_.ContainsId(id);
      if (known.ok()) {
        duplicate = *known;
      } else {
        journal_error = known.status();
      }
    }
    if (duplicate) {
      metrics_.duplicate.Increment();
      ack->set_status(v1::PublishAck::DUPLICATE);
      ack->set_reason("an article with this id was already accepted");
      continue;
    }
    const int64_t waiting = static_cast<int64_t>(pending_.size() + records.size());
    if (waiting >= options_.max_pending) {
      metrics_.busy.Increment();
      ack->set_status(v1::PublishAck::BUSY);
      ack->set_reason(
          absl::StrCat("ingest has ", waiting, " articles waiting for sink; retry later"));
      continue;
    }
    ids_in_batch.insert(id);
    ack->set_status(v1::PublishAck::ACCEPTED);
    records.push_back(
        NewRecord{.article_id = id, .serialized_article = article.article.SerializeAsString()});
    accepted_acks.push_back(ack);
  }
}

absl::Status Stage::HandleWork() {
  const absl::Time now = absl::Now();
  while (true) {
    Frames frames;
    ASSIGN_OR_RETURN(bool got, RecvFrames(work_, frames, /*dont_wait=*/true));
    if (!got) break;
    if (frames.size() != 2) {
      spdlog::warn("ignoring a {}-frame message on the work socket", frames.size());
      continue;
    }
    std::string routing_id = frames[0].to_string();
    v1::WorkerMessage message;
    if (absl::Status parsed = ParseFrame(frames[1], message); !parsed.ok()) {
      spdlog::warn("ignoring a message from worker {}: {}", Printable(routing_id),
                   std::string(parsed.message()));
      continue;
    }
    if (message.kind_case() == v1::WorkerMessage::kGoodbye) {
      // Items in its hands still reach sink; any that do not are redelivered on timeout.
      if (workers_.contains(routing_id)) {
        ForgetWorker(routing_id, /*requeue_in_flight=*/false, "said goodbye");
      }
      continue;
    }
    auto [it, added] = workers_.try_emplace(routing_id);
    Worker& worker = it->second;
    worker.last_heard = now;
    if (added) spdlog::info("worker {} connected", Printable(routing_id));
    switch (message.kind_case()) {
      case v1::WorkerMessage::kCredit:
        worker.credit = std::min(kMaxCredit, worker.credit + message.credit().credit());
        break;
      case v1::WorkerMessage::kFailed: {
        const uint64_t seq = message.failed().journal_seq();
        if (worker.in_flight.erase(seq) > 0) {
          Requeue(seq, absl::StrCat("worker ", Printable(routing_id),
                                    " failed it: ", message.failed().reason()));
        }
        break;
      }
      default:
        break;  // heartbeat: hearing from it is the point
    }
  }
  UpdateGauges();
  return absl::OkStatus();
}

absl::Status Stage::HandleCommits() {
  std::vector<CommitMark> marks;
  while (true) {
    Frames frames;
    ASSIGN_OR_RETURN(bool got, RecvFrames(commit_, frames, /*dont_wait=*/true));
    if (!got) break;
    v1::CommitAck ack;
    if (frames.size() != 1 || !ParseFrame(frames[0], ack).ok()) {
      spdlog::warn("ignoring a commit message that is not one CommitAck frame");
      continue;
    }
    for (const v1::CommitAck::Committed& committed : ack.committed()) {
      auto it = pending_.find(committed.journal_seq());
      if (it == pending_.end()) continue;  // confirmed before: a redelivery was stored again
      if (it->second.article_id != committed.article_id()) {
        spdlog::warn("ignoring a commit of journal_seq {} for article '{}': that record holds '{}'",
                     committed.journal_seq(), absl::CHexEscape(committed.article_id()),
                     it->second.article_id);
        continue;
      }
      marks.emplace_back(committed.journal_seq(), committed.article_id());
    }
  }
  if (marks.empty()) return absl::OkStatus();
  absl::StatusOr<std::vector<uint64_t>> marked = journal_.MarkCommitted(marks);
  if (absl::IsResourceExhausted(marked.status())) {
    // The records stay pending and are redelivered later; sink stores them once.
    spdlog::warn("could not mark {} records committed: {}", marks.size(),
                 marked.status().ToString());
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::vector<uint64_t> matched, std::move(marked));
  for (const uint64_t seq : matched) {
    auto it = pending_.find(seq);
    if (it == pending_.end()) continue;
    Item& item = it->second;
    if (item.in_flight) {
      deadlines_.erase({item.deadline, seq});
      if (auto worker = workers_.find(item.worker); worker != workers_.end()) {
        worker->second.in_flight.erase(seq);
      }
    }
    ready_.erase(seq);
    if (item.backing_off) delayed_.erase({item.retry_at, seq});
    pending_.erase(it);
  }
  metrics_.journal_bytes.Set(static_cast<double>(journal_.SizeBytes()));
  UpdateGauges();
  return absl::OkStatus();
}

void Stage::Requeue(uint64_t seq, absl::string_view why) {
  auto it = pending_.find(seq);
  if (it == pending_.end()) return;
  Item& item = it->second;
  if (item.in_flight) deadlines_.erase({item.deadline, seq});
  item.in_flight = false;
  item.worker.clear();
  metrics_.failed_attempts.Increment();
  const DeliveryFailure failure{.attempts = item.attempts,
                                .first_attempt = item.first_attempt,
                                .last_attempt = absl::Now(),
                                .reason = std::string(why)};
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
  item.retry_at = absl::Now() + backoff;
  delayed_.insert({item.retry_at, seq});
}

void Stage::ForgetWorker(const std::string& routing_id, bool requeue_in_flight,
                         absl::string_view why) {
  auto it = workers_.find(routing_id);
  if (it == workers_.end()) return;
  const std::set<uint64_t> in_flight = std::move(it->second.in_flight);
  workers_.erase(it);
  spdlog::info("forgetting worker {}: {}; {} articles {}", Printable(routing_id), std::string(why),
               in_flight.size(), requeue_in_flight ? "requeued" : "left to their deadline");
  if (!requeue_in_flight) return;
  for (const uint64_t seq : in_flight) Requeue(seq, absl::StrCat("worker ", why));
}

absl::Status Stage::Tick() {
  const absl::Time now = absl::Now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const uint64_t seq = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = pending_.find(seq);
    if (it == pending_.end()) continue;
    if (auto worker = workers_.find(it->second.worker); worker != workers_.end()) {
      worker->second.in_flight.erase(seq);
    }
    it->second.in_flight = false;  // its deadline entry is already gone
    Requeue(seq, "not confirmed by sink within --redelivery_timeout");
  }
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    const uint64_t seq = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    if (auto it = pending_.find(seq); it != pending_.end()) {
      it->second.backing_off = false;
      ready_.insert(seq);
    }
  }
  if (now < next_heartbeat_) return absl::OkStatus();
  next_heartbeat_ = now + options_.heartbeat_interval;
  std::vector<std::string> silent;
  std::vector<std::string> gone;
  for (const auto& [routing_id, worker] : workers_) {
    if (now - worker.last_heard > 3 * options_.heartbeat_interval) {
      silent.push_back(routing_id);
      continue;
    }
    Frames heartbeat;
    heartbeat.emplace_back(routing_id.data(), routing_id.size());
    heartbeat.push_back(ToFrame(v1::Dispatch()));
    absl::Status sent = SendFrames(work_, heartbeat, /*dont_wait=*/true);
    if (absl::IsNotFound(sent)) gone.push_back(routing_id);
  }
  for (const std::string& routing_id : silent) {
    ForgetWorker(routing_id, /*requeue_in_flight=*/true, "silent for 3 heartbeat intervals");
  }
  for (const std::string& routing_id : gone) {
    ForgetWorker(routing_id, /*requeue_in_flight=*/true, "disconnected");
  }
  UpdateGauges();
  return absl::OkStatus();
}

absl::Status Stage::DispatchReady() {
  if (ready_.empty() || workers_.empty()) return absl::OkStatus();
  // Round robin: start after the worker served last.
  std::vector<std::string> order;
  for (auto it = workers_.upper_bound(last_served_worker_); it != workers_.end(); ++it) {
    order.push_back(it->first);
  }
  for (auto it = workers_.begin(); it != workers_.upper_bound(last_served_worker_); ++it) {
    order.push_back(it->first);
  }
  const absl::Time now = absl::Now();
  for (const std::string& routing_id : order) {
    if (ready_.empty()) break;
    const int64_t in_flight = static_cast<int64_t>(deadlines_.size());
    if (in_flight >= options_.max_in_flight) break;  // commits from sink make room
    const size_t room = static_cast<size_t>(options_.max_in_flight - in_flight);
    auto worker_it = workers_.find(routing_id);
    if (worker_it == workers_.end() || worker_it->second.credit == 0) continue;
    Worker& worker = worker_it->second;

    v1::Dispatch dispatch;
    std::vector<uint64_t> seqs;
    size_t bytes = 0;
    while (!ready_.empty() && seqs.size() < worker.credit && seqs.size() < room &&
           bytes < kMaxDispatchBytes) {
      const uint64_t seq = *ready_.begin();
      ready_.erase(ready_.begin());
      Item& item = pending_.at(seq);
      absl::StatusOr<std::string> serialized = journal_.ReadArticle(seq);
      if (absl::IsNotFound(serialized.status())) {
        pending_.erase(seq);  // confirmed meanwhile
        continue;
      }
      RETURN_IF_ERROR(serialized.status());
      v1::WorkItem* work_item = dispatch.add_items();
      if (!work_item->mutable_article()->ParseFromString(*serialized)) {
        spdlog::critical("journal record {} does not parse as an Article", seq);
        std::abort();  // we wrote it ourselves: the journal is corrupt
      }
      work_item->set_journal_seq(seq);
      *work_item->mutable_accepted_at() = ToTimestamp(item.accepted_at);
      work_item->set_attempt(item.attempts + 1);
      bytes += serialized->size();
      seqs.push_back(seq);
    }
    if (seqs.empty()) continue;

    Frames frames;
    frames.emplace_back(routing_id.data(), routing_id.size());
    frames.push_back(ToFrame(dispatch));
    absl::Status sent = SendFrames(work_, frames, /*dont_wait=*/true);
    if (!sent.ok()) {
      ready_.insert(seqs.begin(), seqs.end());  // not delivered: no attempt used
      if (absl::IsNotFound(sent)) {
        ForgetWorker(routing_id, /*requeue_in_flight=*/true, "disconnected");
      } else {
        spdlog::warn("could not dispatch to worker {}: {}", Printable(routing_id), sent.ToString());
      }
      continue;
    }
    last_served_worker_ = routing_id;
    worker.credit -= seqs.size();
    const absl::Time deadline = now + options_.redelivery_timeout;
    for (const uint64_t seq : seqs) {
      Item& item = pending_.at(seq);
      if (++item.attempts > 1) metrics_.redeliveries.Increment();
      if (item.first_attempt == absl::InfinitePast()) item.first_attempt = now;
      item.in_flight = true;
      item.worker = routing_id;
      item.deadline = deadline;
      deadlines_.insert({deadline, seq});
      worker.in_flight.insert(seq);
    }
  }
  UpdateGauges();
  return absl::OkStatus();
}

absl::Status Stage::HandleAdmin() {
  while (true) {
    Frames frames;
    ASSIGN_OR_RETURN(bool got, RecvFrames(admin_, frames, /*dont_wait=*/true));
    if (!got) break;
    if (frames.size() < 2) continue;  // a ROUTER always prepends the routing id
    zmq::message_t payload = std::move(frames.back());
    frames.pop_back();
    v1::AdminRequest request;
    v1::AdminReply reply;
    if (!ParseFrame(payload, request).ok()) {
      reply.set_error("not an AdminRequest (proto/admin.proto)");
    } else if (request.has_list_dead_letters()) {
      ListDeadLetters(reply);
    } else if (request.has_replay_dead_letters()) {
      ReplayDeadLetters(request.replay_dead_letters(), reply);
    } else {
      reply.set_error("empty AdminRequest: set list_dead_letters or replay_dead_letters");
    }
    if (!reply.error().empty()) spdlog::warn("admin request failed: {}", reply.error());
    frames.push_back(ToFrame(reply));
    if (absl::Status sent = SendFrames(admin_, frames); !sent.ok()) {
      spdlog::warn("could not answer an admin request: {}", sent.ToString());
    }
  }
  return absl::OkStatus();
}

void Stage::ListDeadLetters(v1::AdminReply& reply) {
  absl::StatusOr<std::vector<DeadLetter>> letters = journal_.ListDeadLetters();
  if (!letters.ok()) {
    reply.set_error(letters.status().ToString());
    return;
  }
  v1::DeadLetterListReply& list = *reply.mutable_list_dead_letters();
  for (const DeadLetter& letter : *letters) {
    v1::DeadLetter& entry = *list.add_dead_letters();
    entry.set_id(letter.article_id);
    v1::Article article;
    if (article.ParseFromString(letter.serialized_article)) entry.set_title(article.title());
    entry.set_attempts(letter.failure.attempts);
    entry.set_last_reason(letter.failure.reason);
    *entry.mutable_first_attempt() = ToTimestamp(letter.failure.first_attempt);
    *entry.mutable_last_attempt() = ToTimestamp(letter.failure.last_attempt);
    *entry.mutable_accepted_at() = ToTimestamp(letter.accepted_at);
    entry.set_journal_seq(letter.journal_seq);
  }
}

void Stage::ReplayDeadLetters(const v1::DeadLetterReplayRequest& request, v1::AdminReply& reply) {
  const std::vector<std::string> ids(request.ids().begin(), request.ids().end());
  if (!request.all() && ids.empty()) {
    reply.set_error("a replay needs article ids or all");
    return;
  }
  absl::StatusOr<std::vector<PendingRecord>> replayed =
      journal_.ReplayDeadLetters(ids, request.all());
  if (!replayed.ok()) {
    reply.set_error(replayed.status().ToString());
    return;
  }
  v1::DeadLetterReplayReply& answer = *reply.mutable_replay_dead_letters();
  absl::flat_hash_set<std::string> found;
  for (PendingRecord& record : *replayed) {
    answer.add_ids(record.article_id);
    found.insert(record.article_id);
    Item& item = pending_[record.journal_seq];
    item.article_id = std::move(record.article_id);
    item.accepted_at = record.accepted_at;
    ready_.insert(record.journal_seq);
  }
  answer.set_replayed(static_cast<uint32_t>(replayed->size()));
  for (const std::string& id : ids) {
    if (!request.all() && !found.contains(id)) answer.add_unknown_ids(id);
  }
  spdlog::info("replayed {} dead letters with a fresh attempt budget", replayed->size());
  metrics_.dead_letters.Decrement(static_cast<double>(replayed->size()));
  UpdateGauges();
}

void Stage::UpdateGauges() {
  metrics_.pending.Set(static_cast<double>(pending_.size()));
  metrics_.in_flight.Set(static_cast<double>(deadlines_.size()));
  metrics_.workers.Set(static_cast<double>(workers_.size()));
}

}  // namespace

absl::Status RunStage(zmq::context_t& context, const Options& options, Journal& journal,
                      int shutdown_fd) {
  Stage stage(context, options, journal);
  RETURN_IF_ERROR(stage.StartCurve(context));
  return stage.Run(shutdown_fd);
}

absl::Status RunStage(zmq::context_t& context, const Options& options, int shutdown_fd) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteJournal> journal,
                   SqliteJournal::Open(options.journal_path,
                                       SqliteJournalOptions{.fsync = options.fsync,
                                                            .max_bytes = options.max_journal_bytes,
                                                            .dedup_window = options.dedup_window}));
  return RunStage(context, options, *journal, shutdown_fd);
}

}  // namespace topicwire::ingest
