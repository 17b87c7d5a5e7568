#include "ingest/ingest_stage.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "common/zmq_channel.h"
#include "ingest/admin_service.h"
#include "ingest/dispatcher.h"
#include "ingest/ingest_metrics.h"
#include "ingest/publish_handler.h"
#include "proto/internal.pb.h"
#include "spdlog/spdlog.h"

namespace topicwire::ingest {
namespace {

absl::string_view View(const zmq::message_t& frame) {
  return absl::string_view(static_cast<const char*>(frame.data()), frame.size());
}

// The stage's sockets and the poll loop: each socket's handler reads what is readable and passes
// it to the publish handler, the dispatcher or the admin service, then sends what they answer.
class IngestStage {
 public:
  IngestStage(zmq::context_t& context, const IngestOptions& options, Journal& journal)
      : options_(options),
        journal_(journal),
        registry_(options.registry ? options.registry : std::make_shared<prometheus::Registry>()),
        metrics_(*registry_),
        dispatcher_(DispatcherOptions{.redelivery_timeout = options.redelivery_timeout,
                                      .heartbeat_interval = options.heartbeat_interval,
                                      .max_in_flight = options.max_in_flight,
                                      .max_attempts = options.max_attempts,
                                      .clocks = options.clocks},
                    journal, metrics_, options.clocks.monotonic()),
        publish_handler_(
            PublishHandlerOptions{.max_article_bytes = options.max_article_bytes,
                                  .max_articles_per_request = options.max_articles_per_request,
                                  .max_pending = options.max_pending},
            journal, dispatcher_, metrics_),
        admin_service_(options.admin, journal, dispatcher_, metrics_),
        publish_(context, zmq::socket_type::router),
        work_(context, zmq::socket_type::router),
        commit_(context, zmq::socket_type::pull),
        admin_(context, zmq::socket_type::router) {}

  // Starts the CURVE authenticator when options.curve asks for it. REQUIRES: before Run().
  absl::Status StartCurve(zmq::context_t& context) {
    if (!options_.curve.enabled()) return absl::OkStatus();
    ASSIGN_OR_RETURN(curve_, curve::Authenticator::Start(context, options_.curve, *registry_,
                                                         "topicwire_ingest_auth_refused_total"));
    spdlog::info(
        "every endpoint requires CURVE: server key {}; publish admits the clients in {}, work "
        "and commit the stages in {}, admin the keys in {}",
        curve_->public_key(), options_.curve.allow_list_file, options_.curve.stage_allow_list_file,
        options_.curve.admin_allow_list_file.empty() ? "(none: admin refuses everyone)"
                                                     : options_.curve.admin_allow_list_file);
    return absl::OkStatus();
  }

  absl::Status Run(int shutdown_fd);

 private:
  // The poll items, in this order.
  enum PollItem { kShutdown, kPublish, kWork, kCommit, kAdmin };

  absl::Status Setup();
  absl::Status HandlePublish();
  absl::Status HandleWork();
  absl::Status HandleCommits();
  absl::Status HandleAdmin();
  // The next page of a replay of every dead letter, and its answer once it is done.
  void ContinueReplay();
  // Answers a publish message of more than max_frames_per_message frames (`frames` holds its
  // first ones) with an error, and counts it.
  void RefuseOverlongPublish(Frames& frames, size_t frame_count);
  // Sends one reply (routing envelope, then the PublishReply) without blocking; a reply that
  // cannot be queued is dropped and counted by why.
  void SendPublishReply(Frames& reply);
  size_t MaxFrames() const { return static_cast<size_t>(options_.max_frames_per_message); }
  // The dispatcher's timers, and the heartbeats they call for.
  void Tick();
  // Sends ready articles to the workers with credit.
  absl::Status DispatchReady();
  // Sends a heartbeat or a dispatch to a worker without blocking; kNotFound when it vanished.
  absl::Status SendToWorker(const std::string& worker, const v1::Dispatch& dispatch);
  absl::Duration TimeUntilNextEvent() const;

  const IngestOptions& options_;
  Journal& journal_;
  std::shared_ptr<prometheus::Registry> registry_;
  IngestMetrics metrics_;
  Dispatcher dispatcher_;
  PublishHandler publish_handler_;
  AdminService admin_service_;
  zmq::socket_t publish_;
  zmq::socket_t work_;
  zmq::socket_t commit_;
  zmq::socket_t admin_;
  // The envelope to answer once the replay of every dead letter under way is done.
  Frames replay_envelope_;
  std::unique_ptr<curve::Authenticator> curve_;  // null: every endpoint is plaintext
};

absl::Status IngestStage::Setup() {
  RETURN_IF_ERROR(ConfigureSocket(publish_, options_.linger_ms));
  // Replies queue per publisher up to this many messages; a publisher that does not read them
  // then gets none (counted) instead of ingest holding them, and a full queue must be seen
  // (EAGAIN) rather than dropped silently.
  RETURN_IF_ERROR(SetSendHighWaterMark(publish_, options_.max_queued_replies_per_publisher));
  RETURN_IF_ERROR(SetRouterMandatory(publish_, true));
  RETURN_IF_ERROR(ConfigureSocket(work_, 0));
  RETURN_IF_ERROR(ConfigureSocket(commit_, 0));
  // A send to a worker that vanished must fail (kNotFound) so its items are requeued, instead
  // of being dropped silently.
  RETURN_IF_ERROR(SetRouterMandatory(work_, true));
  if (curve_ != nullptr) {
    RETURN_IF_ERROR(curve_->SecureServer(publish_, curve::Audience::kClients, "publish"));
    RETURN_IF_ERROR(curve_->SecureServer(work_, curve::Audience::kStages, "work"));
    RETURN_IF_ERROR(curve_->SecureServer(commit_, curve::Audience::kStages, "commit"));
  }
  RETURN_IF_ERROR(Bind(publish_, options_.publish_endpoint));
  RETURN_IF_ERROR(Bind(work_, options_.work_endpoint));
  RETURN_IF_ERROR(Bind(commit_, options_.commit_endpoint));
  if (!options_.admin_endpoint.empty()) {
    RETURN_IF_ERROR(ConfigureSocket(admin_, 0));
    if (curve_ != nullptr) {
      RETURN_IF_ERROR(curve_->SecureServer(admin_, curve::Audience::kAdmins, "admin"));
    }
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
  const size_t recovered_count = recovered.size();
  for (PendingRecord& record : recovered) dispatcher_.Add(std::move(record));
  ASSIGN_OR_RETURN(const int64_t dead_letters, journal_.CountDeadLetters());
  metrics_.dead_letters.Set(static_cast<double>(dead_letters));
  // The endpoints as bound, with wildcard ports resolved, so the log says where to connect.
  ASSIGN_OR_RETURN(const std::string publish_bound, LastEndpoint(publish_));
  ASSIGN_OR_RETURN(const std::string work_bound, LastEndpoint(work_));
  ASSIGN_OR_RETURN(const std::string commit_bound, LastEndpoint(commit_));
  spdlog::info(
      "publish {} work {} commit {} journal {}; recovered {} pending articles from the journal",
      publish_bound, work_bound, commit_bound, options_.journal_path, recovered_count);
  metrics_.journal_bytes.Set(static_cast<double>(journal_.SizeBytes()));
  return absl::OkStatus();
}

absl::Status IngestStage::Run(int shutdown_fd) {
  RETURN_IF_ERROR(Setup());
  if (options_.readiness) options_.readiness->Set(kServing, true);
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
    if (items[kShutdown].revents & ZMQ_POLLIN) break;  // shutdown: stop taking input
    if (items[kCommit].revents & ZMQ_POLLIN) status.Update(HandleCommits());
    if (status.ok() && (items[kWork].revents & ZMQ_POLLIN)) status.Update(HandleWork());
    if (status.ok() && (items[kPublish].revents & ZMQ_POLLIN)) status.Update(HandlePublish());
    if (status.ok() && (items[kAdmin].revents & ZMQ_POLLIN)) status.Update(HandleAdmin());
    if (status.ok() && admin_service_.replaying()) ContinueReplay();
    if (status.ok()) Tick();
    if (status.ok()) status.Update(DispatchReady());
  }
  if (options_.readiness) options_.readiness->SetUnmet(kServing, "ingest is stopping");
  // Confirmations that already arrived save redeliveries after a restart.
  if (status.ok()) status.Update(HandleCommits());
  spdlog::info(
      "stopping: received={} accepted={} duplicate={} busy={} redeliveries={} pending={} "
      "rejected: empty={} utf8={} too_large={} bad_url={} bad_id={} too_many_articles={} "
      "too_many_frames={} malformed_frame={}",
      metrics_.received.Value(), metrics_.accepted.Value(), metrics_.duplicate.Value(),
      metrics_.busy.Value(), metrics_.redeliveries.Value(), dispatcher_.pending(),
      metrics_.Rejected(RejectKind::kEmpty).Value(), metrics_.Rejected(RejectKind::kUtf8).Value(),
      metrics_.Rejected(RejectKind::kTooLarge).Value(),
      metrics_.Rejected(RejectKind::kBadUrl).Value(), metrics_.Rejected(RejectKind::kBadId).Value(),
      metrics_.Rejected(RejectKind::kTooManyArticles).Value(),
      metrics_.Rejected(RejectKind::kTooManyFrames).Value(),
      metrics_.Rejected(RejectKind::kMalformed).Value());
  return status;
}

absl::Duration IngestStage::TimeUntilNextEvent() const {
  // A replay under way goes on at once, after whatever the sockets have for this turn.
  if (admin_service_.replaying()) return absl::ZeroDuration();
  // Rounded up: poll counts whole milliseconds, and waking early would spin until the event.
  return absl::Ceil(
      std::max(absl::ZeroDuration(), dispatcher_.NextEvent() - options_.clocks.monotonic()),
      absl::Milliseconds(1));
}

absl::Status IngestStage::HandlePublish() {
  // Group commit: everything readable now (up to a bound) shares one journal transaction.
  std::vector<Frames> envelopes;  // routing id (and REQ's empty delimiter), mirrored in replies
  std::vector<zmq::message_t> payloads;
  GroupCommitBudget budget(options_.max_requests_per_commit);
  while (!budget.Full()) {
    Frames frames;
    ASSIGN_OR_RETURN(const size_t frame_count, RecvFramesUpTo(publish_, frames, MaxFrames(),
                                                              /*dont_wait=*/true));
    if (frame_count == 0) break;
    budget.Add(frames);
    if (frames.size() < 2) continue;  // a ROUTER always prepends the routing id
    if (frame_count > frames.size()) {
      RefuseOverlongPublish(frames, frame_count);
      continue;
    }
    payloads.push_back(std::move(frames.back()));
    frames.pop_back();
    envelopes.push_back(std::move(frames));
  }
  std::vector<PublishRequest> requests(envelopes.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    requests[i].publisher = View(envelopes[i][0]);
    requests[i].payload = View(payloads[i]);
  }
  // Each call commits the requests whose replies fit its bound; those replies are sent (and
  // freed) before the next requests' are built.
  size_t handled = 0;
  while (handled < requests.size()) {
    const size_t end = handled + publish_handler_.Handle(absl::MakeSpan(requests).subspan(handled));
    for (; handled < end; ++handled) {
      Frames reply = std::move(envelopes[handled]);
      reply.push_back(ToFrame(requests[handled].reply));
      requests[handled].reply.Clear();
      SendPublishReply(reply);
    }
  }
  return absl::OkStatus();
}

void IngestStage::SendPublishReply(Frames& reply) {
  const absl::Status sent = SendFrames(publish_, reply, /*dont_wait=*/true);
  if (sent.ok()) return;
  // The articles it answers are settled either way (an accepted one is durable, and a retry is
  // answered DUPLICATE), so a publisher that is gone or does not read its replies loses only
  // the reply.
  if (absl::IsResourceExhausted(sent)) {
    metrics_.replies_undelivered_queue_full.Increment();
    spdlog::warn(
        "dropped a reply to publisher {}: it has {} unread replies queued (it does not read "
        "them, or keeps more requests in flight than --max_queued_replies_per_publisher)",
        absl::BytesToHexString(View(reply[0])), options_.max_queued_replies_per_publisher);
  } else if (absl::IsNotFound(sent)) {
    metrics_.replies_undelivered_publisher_gone.Increment();
    spdlog::info("dropped a reply to publisher {}: it disconnected",
                 absl::BytesToHexString(View(reply[0])));
  } else {
    metrics_.replies_undelivered_other.Increment();
    spdlog::warn("could not answer a publisher: {}", sent.ToString());
  }
}

void IngestStage::RefuseOverlongPublish(Frames& frames, size_t frame_count) {
  metrics_.Rejected(RejectKind::kTooManyFrames).Increment();
  const std::string reason =
      absl::StrCat("a publish message may have at most ", options_.max_frames_per_message,
                   " frames with ingest's routing id (REQ sends [empty][request], DEALER "
                   "[request], each proxy adds a routing id); this one had ",
                   frame_count, ", so nothing in it was read");
  spdlog::warn("refusing a message from publisher {}: {}", absl::BytesToHexString(View(frames[0])),
               reason);
  // Answered on the envelope a REQ or a DEALER client expects: the routing id, and the empty
  // delimiter when there is one.
  Frames reply;
  reply.push_back(std::move(frames[0]));
  if (frames[1].size() == 0) reply.push_back(std::move(frames[1]));
  v1::PublishReply refused;
  refused.set_error(reason);
  reply.push_back(ToFrame(refused));
  SendPublishReply(reply);
}

absl::Status IngestStage::HandleWork() {
  const absl::Time now = options_.clocks.monotonic();
  while (true) {
    Frames frames;
    ASSIGN_OR_RETURN(const size_t frame_count,
                     RecvFramesUpTo(work_, frames, MaxFrames(), /*dont_wait=*/true));
    if (frame_count == 0) break;
    if (frame_count != 2) {
      spdlog::warn("ignoring a {}-frame message on the work socket", frame_count);
      continue;
    }
    const std::string routing_id = frames[0].to_string();
    v1::WorkerMessage message;
    if (absl::Status parsed = ParseFrame(frames[1], message); !parsed.ok()) {
      spdlog::warn("ignoring a message from worker {}: {}", absl::BytesToHexString(routing_id),
                   std::string(parsed.message()));
      continue;
    }
    if (!dispatcher_.OnWorkerMessage(routing_id, message, now)) {
      v1::Dispatch register_again;
      register_again.set_register_again(true);
      // Best effort: a peer that is gone needs no answer, and the next message asks again.
      (void)SendToWorker(routing_id, register_again);
    }
  }
  return absl::OkStatus();
}

absl::Status IngestStage::HandleCommits() {
  std::vector<CommitMark> marks;
  while (true) {
    Frames frames;
    ASSIGN_OR_RETURN(const size_t frame_count,
                     RecvFramesUpTo(commit_, frames, MaxFrames(), /*dont_wait=*/true));
    if (frame_count == 0) break;
    v1::CommitAck ack;
    if (frame_count != 1 || !ParseFrame(frames[0], ack).ok()) {
      spdlog::warn("ignoring a commit message that is not one CommitAck frame");
      continue;
    }
    for (const v1::CommitAck::Committed& committed : ack.committed()) {
      marks.emplace_back(committed.journal_seq(), committed.article_id());
    }
  }
  return dispatcher_.Commit(marks);
}

absl::Status IngestStage::HandleAdmin() {
  while (true) {
    Frames frames;
    ASSIGN_OR_RETURN(const size_t frame_count,
                     RecvFramesUpTo(admin_, frames, MaxFrames(), /*dont_wait=*/true));
    if (frame_count == 0) break;
    // A ROUTER always prepends the routing id; an overlong message gets no answer.
    if (frames.size() < 2 || frame_count > frames.size()) continue;
    const std::optional<v1::AdminReply> reply = admin_service_.Handle(View(frames.back()));
    if (!reply.has_value()) {
      frames.pop_back();
      replay_envelope_ = std::move(frames);
      continue;
    }
    frames.back() = ToFrame(*reply);
    if (absl::Status sent = SendFrames(admin_, frames); !sent.ok()) {
      spdlog::warn("could not answer an admin request: {}", sent.ToString());
    }
  }
  return absl::OkStatus();
}

void IngestStage::ContinueReplay() {
  std::optional<v1::AdminReply> reply = admin_service_.ContinueReplay();
  if (!reply.has_value()) return;
  Frames frames = std::move(replay_envelope_);
  replay_envelope_.clear();
  frames.push_back(ToFrame(*reply));
  if (absl::Status sent = SendFrames(admin_, frames, /*dont_wait=*/true); !sent.ok()) {
    spdlog::warn("could not answer an admin request: {}", sent.ToString());
  }
}

absl::Status IngestStage::SendToWorker(const std::string& worker, const v1::Dispatch& dispatch) {
  Frames frames;
  frames.emplace_back(worker.data(), worker.size());
  frames.push_back(ToFrame(dispatch));
  return SendFrames(work_, frames, /*dont_wait=*/true);
}

void IngestStage::Tick() {
  for (const std::string& worker : dispatcher_.Tick(options_.clocks.monotonic())) {
    if (absl::IsNotFound(SendToWorker(worker, v1::Dispatch()))) {
      dispatcher_.ForgetWorker(worker, /*requeue_in_flight=*/true, "disconnected");
    }
  }
}

absl::Status IngestStage::DispatchReady() {
  const absl::Time now = options_.clocks.monotonic();
  for (const std::string& worker : dispatcher_.RoundRobinOrder()) {
    ASSIGN_OR_RETURN(std::optional<DispatchBatch> batch, dispatcher_.TakeBatch(worker));
    if (!batch.has_value()) continue;
    absl::Status sent = SendToWorker(worker, batch->dispatch);
    if (sent.ok()) {
      dispatcher_.Sent(*batch, now);
      continue;
    }
    dispatcher_.NotSent(*batch);
    if (absl::IsNotFound(sent)) {
      dispatcher_.ForgetWorker(worker, /*requeue_in_flight=*/true, "disconnected");
    } else {
      spdlog::warn("could not dispatch to worker {}: {}", absl::BytesToHexString(worker),
                   sent.ToString());
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::shared_ptr<Readiness> NewIngestReadiness() {
  return std::make_shared<Readiness>(
      std::vector<std::string>{"ingest is starting: journal not open or sockets not bound"});
}

absl::Status RunStage(zmq::context_t& context, const IngestOptions& options, Journal& journal,
                      int shutdown_fd) {
  IngestStage stage(context, options, journal);
  RETURN_IF_ERROR(stage.StartCurve(context));
  return stage.Run(shutdown_fd);
}

absl::Status RunStage(zmq::context_t& context, const IngestOptions& options, int shutdown_fd) {
  ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteJournal> journal,
      SqliteJournal::Open(options.journal_path,
                          SqliteJournalOptions{.fsync = options.fsync,
                                               .max_bytes = options.max_journal_bytes,
                                               .dedup_window = options.dedup_window,
                                               .dedup_window_bytes = options.dedup_window_bytes,
                                               .dedup_window_age = options.dedup_window_age}));
  return RunStage(context, options, *journal, shutdown_fd);
}

}  // namespace topicwire::ingest
