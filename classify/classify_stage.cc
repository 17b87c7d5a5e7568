#include "classify/classify_stage.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "classify/classify_metrics.h"
#include "common/socket_monitor.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "common/zmq_channel.h"
#include "google/protobuf/arena.h"
#include "proto/internal.pb.h"
#include "spdlog/spdlog.h"

namespace topicwire::classify {
namespace {

// A Delivery waiting for room on the PUSH to sink.
struct Pending {
  zmq::message_t frame;
  absl::Time received;
};

class Worker {
 public:
  Worker(zmq::context_t& context, const ClassifyOptions& options,
         std::shared_ptr<const Classifier> classifier)
      : context_(context),
        options_(options),
        classifier_(std::move(classifier)),
        registry_(options.registry ? options.registry : std::make_shared<prometheus::Registry>()),
        metrics_(*registry_, classifier_->version()),
        readiness_(options.readiness ? options.readiness : NewClassifyReadiness()) {}

  absl::Status Run(int shutdown_fd) {
    readiness_->Set(kTaxonomyLoaded, true);
    SetTaxonomyDetail();
    taxonomy_file_ = FileStamp();
    RETURN_IF_ERROR(SetUpSink());
    RETURN_IF_ERROR(ConnectToIngest());
    spdlog::info("taking work from {} with credit {}, delivering to {}, taxonomy {}",
                 options_.work_endpoint, options_.credit, options_.sink_endpoint,
                 classifier_->version());
    while (true) {
      enum { kShutdown, kWork, kSink, kSinkMonitor, kWorkMonitor, kReload };
      // A null socket in a pollitem with fd -1 and no events is never ready.
      std::vector<zmq::pollitem_t> items = {
          {nullptr, shutdown_fd, ZMQ_POLLIN, 0},
          {work_.handle(), 0, ZMQ_POLLIN, 0},
          {sink_.handle(), 0, static_cast<short>(outbox_.empty() ? 0 : ZMQ_POLLOUT), 0},
          {sink_monitor_.handle(), -1,
           static_cast<short>(sink_monitor_.watching() ? ZMQ_POLLIN : 0), 0},
          {work_monitor_.handle(), -1,
           static_cast<short>(work_monitor_.watching() ? ZMQ_POLLIN : 0), 0},
          {nullptr, options_.reload_fd,
           static_cast<short>(options_.reload_fd >= 0 ? ZMQ_POLLIN : 0), 0},
      };
      const absl::Time now = MonotonicNow();
      absl::Time wake = std::min(last_sent_ + options_.heartbeat_interval,
                                 last_heard_ + options_.heartbeat_interval * liveness());
      if (WatchesFile()) wake = std::min(wake, last_file_check_ + options_.taxonomy_check_interval);
      ASSIGN_OR_RETURN(int ready, Poll(items, std::max(wake - now, absl::ZeroDuration())));
      if (ready > 0 && (items[kShutdown].revents & ZMQ_POLLIN)) break;
      if (items[kSinkMonitor].revents & ZMQ_POLLIN) RETURN_IF_ERROR(DrainSinkMonitor());
      if (items[kWork].revents & ZMQ_POLLIN) RETURN_IF_ERROR(DrainWork());
      if (items[kWorkMonitor].revents & ZMQ_POLLIN) RETURN_IF_ERROR(DrainWorkMonitor());
      if (items[kReload].revents & ZMQ_POLLIN) {
        char discard[128];  // one signalfd_siginfo (128 bytes), or an eventfd's 8-byte count
        (void)!read(options_.reload_fd, discard, sizeof(discard));
        Reload("reload requested (SIGHUP)");
      } else if (WatchesFile() &&
                 MonotonicNow() - last_file_check_ >= options_.taxonomy_check_interval) {
        last_file_check_ = MonotonicNow();
        if (FileStamp() != taxonomy_file_) Reload("the taxonomy file changed");
      }
      RETURN_IF_ERROR(FlushOutbox());
      RETURN_IF_ERROR(KeepAlive());
    }
    return Stop();
  }

 private:
  int liveness() const { return std::max(1, options_.liveness); }

  bool WatchesFile() const {
    return !options_.taxonomy_path.empty() &&
           options_.taxonomy_check_interval > absl::ZeroDuration();
  }

  // Modification time and size of the taxonomy file ("" when unreadable): a change means reload.
  std::string FileStamp() const {
    struct stat info {};
    if (options_.taxonomy_path.empty() || stat(options_.taxonomy_path.c_str(), &info) != 0) {
      return "";
    }
    return absl::StrCat(info.st_mtim.tv_sec, ".", info.st_mtim.tv_nsec, "/", info.st_size, "/",
                        info.st_ino);
  }

  // Loads and compiles the taxonomy file and swaps it in between two items, so that every
  // article is tagged wholly by one version; a file that does not load is refused and the old
  // taxonomy keeps serving.
  void Reload(const std::string& why) {
    if (options_.taxonomy_path.empty()) {
      spdlog::warn("{}, but no taxonomy file was given to reload from", why);
      return;
    }
    taxonomy_file_ = FileStamp();
    absl::StatusOr<std::unique_ptr<Classifier>> loaded =
        Classifier::FromFile(options_.taxonomy_path);
    if (!loaded.ok()) {
      metrics_.reloads_refused.Increment();
      spdlog::error("{}: refused the new taxonomy, still serving version {}: {}", why,
                    classifier_->version(), std::string(loaded.status().message()));
    } else {
      const std::string old_version = classifier_->version();
      classifier_ = std::shared_ptr<const Classifier>(*std::move(loaded));
      metrics_.reloads_ok.Increment();
      metrics_.SetTaxonomyVersion(classifier_->version());
      spdlog::info("{}: taxonomy {} version {} replaces version {} ({} topics, {} patterns)", why,
                   options_.taxonomy_path, classifier_->version(), old_version,
                   classifier_->taxonomy().topics_size(), classifier_->pattern_count());
    }
    SetTaxonomyDetail();
  }

  // The taxonomy in use and how reloads went, for /readyz.
  void SetTaxonomyDetail() {
    readiness_->SetDetail(absl::StrCat("taxonomy ", classifier_->version(),
                                       " (reloads: ", static_cast<int>(metrics_.reloads_ok.Value()),
                                       " ok, ", static_cast<int>(metrics_.reloads_refused.Value()),
                                       " refused)"));
  }

  absl::Status SetUpSink() {
    RETURN_IF_ERROR(ConfigureSocket(sink_, options_.linger_ms));
    // Queue Deliveries only on a completed connection, so that an unreachable sink holds back
    // credit instead of swallowing work (see RunStage).
    RETURN_IF_ERROR(SetImmediate(sink_, true));
    RETURN_IF_ERROR(curve::ApplyClientOptions(sink_, options_.sink_curve));
    ASSIGN_OR_RETURN(sink_monitor_,
                     SocketMonitor::WatchConnections(context_, sink_, options_.sink_endpoint));
    RETURN_IF_ERROR(Connect(sink_, options_.sink_endpoint));
    if (!sink_monitor_.watching()) SetSinkConnected(true);
    return absl::OkStatus();
  }

  absl::Status DrainSinkMonitor() {
    return sink_monitor_.DrainConnectionEvents([this](bool connected) {
      if (connected) {
        spdlog::info("connected to sink at {}", options_.sink_endpoint);
      } else {
        spdlog::warn("lost sink at {}; holding deliveries until it is back",
                     options_.sink_endpoint);
      }
      SetSinkConnected(connected);
    });
  }

  // A DEALER reconnects by itself after ingest restarts, but the new ingest knows nothing of
  // this worker's credit, and its heartbeats would keep the worker from ever noticing. So a
  // handshake after a disconnect counts as a new ingest: register afresh (new socket, new
  // identity, full free credit); the old identity's in-flight items are redelivered.
  absl::Status DrainWorkMonitor() {
    ASSIGN_OR_RETURN(std::vector<SocketEvent> events, work_monitor_.Drain());
    for (const SocketEvent& event : events) {
      if (event.event == ZMQ_EVENT_DISCONNECTED) {
        spdlog::warn("lost ingest at {}", options_.work_endpoint);
        work_disconnected_ = true;
        SetIngestConnected(false);
      } else if (event.event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && work_disconnected_) {
        spdlog::info("ingest at {} is back; registering again", options_.work_endpoint);
        return ConnectToIngest();  // replaces work_monitor_: stop reading the old one
      }
    }
    return absl::OkStatus();
  }

  void SetSinkConnected(bool value) {
    readiness_->Set(kSinkConnected, value);
    metrics_.sink_connected.Set(value ? 1 : 0);
  }

  void SetIngestConnected(bool value) {
    readiness_->Set(kIngestConnected, value);
    metrics_.ingest_connected.Set(value ? 1 : 0);
  }

  // A fresh DEALER to ingest, granting every credit not tied up in held Deliveries.
  absl::Status ConnectToIngest() {
    // Whatever the old socket still queues is stale (ingest forgot us): drop it at once.
    if (work_.handle() != nullptr) RETURN_IF_ERROR(ConfigureSocket(work_, /*linger_ms=*/0));
    work_ = zmq::socket_t(context_, zmq::socket_type::dealer);
    work_disconnected_ = false;
    RETURN_IF_ERROR(ConfigureSocket(work_, options_.linger_ms));
    RETURN_IF_ERROR(curve::ApplyClientOptions(work_, options_.ingest_curve));
    // Stop watching the old socket even if watching the new one fails.
    work_monitor_ = SocketMonitor();
    ASSIGN_OR_RETURN(work_monitor_,
                     SocketMonitor::WatchConnections(context_, work_, options_.work_endpoint));
    RETURN_IF_ERROR(Connect(work_, options_.work_endpoint));
    last_heard_ = MonotonicNow();
    const int free_credit = std::max(0, options_.credit - static_cast<int>(outbox_.size()));
    // Always sent, even as 0: it is the registration without which ingest ignores this worker.
    return SendCredit(free_credit, /*registers=*/true);
  }

  // Sends to ingest without blocking: a DEALER queues while ingest is away, and what cannot be
  // queued (high-water mark) is dropped with a warning. Lost credit comes back on reconnect.
  absl::Status SendToIngest(const v1::WorkerMessage& message) {
    absl::Status sent = SendProto(work_, message, /*dont_wait=*/true);
    if (absl::IsResourceExhausted(sent)) {
      spdlog::warn("ingest's queue is full; dropped a {} message",
                   message.has_credit() ? "credit" : "control");
      return absl::OkStatus();
    }
    if (sent.ok()) last_sent_ = MonotonicNow();
    return sent;
  }

  absl::Status SendCredit(int credit, bool registers = false) {
    v1::WorkerMessage message;
    message.mutable_credit()->set_credit(static_cast<uint32_t>(credit));
    message.mutable_credit()->set_registers(registers);
    return SendToIngest(message);
  }

  absl::Status DrainWork() {
    while (true) {
      Frames frames;
      ASSIGN_OR_RETURN(bool got, RecvFrames(work_, frames, /*dont_wait=*/true));
      if (!got) return absl::OkStatus();
      last_heard_ = MonotonicNow();
      if (!readiness_->IsMet(kIngestConnected)) {
        spdlog::info("hearing from ingest at {}", options_.work_endpoint);
        SetIngestConnected(true);
      }
      // Everything of one Dispatch (the items, their Deliveries, every tag and evidence) lives
      // on one arena: one reset instead of a free per string, and the article moves into its
      // Delivery without a copy.
      arena_.Reset();
      v1::Dispatch& dispatch = *google::protobuf::Arena::CreateMessage<v1::Dispatch>(&arena_);
      if (frames.size() != 1) {
        metrics_.malformed.Increment();
        spdlog::warn("dropping a message of {} frames from ingest (expected one Dispatch)",
                     frames.size());
        continue;
      }
      if (absl::Status parsed = ParseFrame(frames[0], dispatch); !parsed.ok()) {
        metrics_.malformed.Increment();
        spdlog::warn("dropping a frame from ingest: {}", std::string(parsed.message()));
        continue;
      }
      if (dispatch.register_again()) {
        // Ingest forgot this worker (its loop was blocked past the liveness window): the credit it
        // granted is lost with the old identity, so register afresh.
        spdlog::warn("ingest at {} no longer knows this worker; registering again",
                     options_.work_endpoint);
        metrics_.reconnects.Increment();
        return ConnectToIngest();  // replaces work_: stop reading the old socket
      }
      for (v1::WorkItem& item : *dispatch.mutable_items()) RETURN_IF_ERROR(Handle(item));
    }
  }

  // Tags `item`'s article, moving it out of `item`.
  absl::Status Handle(v1::WorkItem& item) {
    const absl::Time received = MonotonicNow();
    if (static_cast<int>(outbox_.size()) >= options_.credit) {
      spdlog::warn("ingest sent journal_seq {} beyond the granted credit; tagging it anyway",
                   item.journal_seq());
    }
    if (!item.has_article()) {
      // Nothing to tag: tell ingest so it can set the record aside, and free the credit.
      metrics_.failed.Increment();
      v1::WorkerMessage failed;
      failed.mutable_failed()->set_journal_seq(item.journal_seq());
      failed.mutable_failed()->set_reason("work item carries no article");
      spdlog::warn("journal_seq {}: work item carries no article", item.journal_seq());
      RETURN_IF_ERROR(SendToIngest(failed));
      return SendCredit(1);
    }
    v1::Delivery& delivery = *google::protobuf::Arena::CreateMessage<v1::Delivery>(&arena_);
    delivery.set_journal_seq(item.journal_seq());
    v1::TaggedArticle* tagged = delivery.mutable_tagged();
    tagged->mutable_article()->Swap(item.mutable_article());  // same arena: no copy
    classifier_->AddTags(tagged->article(), *tagged);
    if (item.has_accepted_at()) *tagged->mutable_accepted_at() = item.accepted_at();
    *tagged->mutable_classified_at() = ToTimestamp(absl::Now());
    metrics_.articles.Increment();
    if (tagged->tags().empty()) metrics_.untagged.Increment();
    for (const v1::Tag& tag : tagged->tags()) metrics_.CountTag(tag.topic());
    spdlog::debug("journal_seq {} article {}: {} tags", item.journal_seq(), tagged->article().id(),
                  tagged->tags_size());
    outbox_.push_back(Pending{ToFrame(delivery), received});
    metrics_.in_hand.Set(static_cast<double>(outbox_.size()));
    return absl::OkStatus();
  }

  // Hands held Deliveries to the PUSH socket while it takes them; one credit back per item.
  absl::Status FlushOutbox() {
    int finished = 0;
    while (!outbox_.empty()) {
      Frames frames;
      frames.push_back(std::move(outbox_.front().frame));
      absl::Status sent = SendFrames(sink_, frames, /*dont_wait=*/true);
      if (absl::IsResourceExhausted(sent)) {
        // A frame ZeroMQ did not take is left as it was: keep it for later.
        outbox_.front().frame = std::move(frames.front());
        break;  // no sink connection or queue full: later
      }
      RETURN_IF_ERROR(sent);
      metrics_.latency_seconds.Observe(
          absl::ToDoubleSeconds(MonotonicNow() - outbox_.front().received));
      outbox_.pop_front();
      ++finished;
    }
    metrics_.in_hand.Set(static_cast<double>(outbox_.size()));
    if (finished > 0 && !stopping_) return SendCredit(finished);
    return absl::OkStatus();
  }

  // Heartbeats to ingest, and a fresh connection when ingest has been silent too long.
  absl::Status KeepAlive() {
    const absl::Time now = MonotonicNow();
    if (now - last_heard_ >= options_.heartbeat_interval * liveness()) {
      // Warn once per outage; while ingest stays away, every further attempt is debug only.
      const auto level = readiness_->IsMet(kIngestConnected) || metrics_.reconnects.Value() == 0
                             ? spdlog::level::warn
                             : spdlog::level::debug;
      spdlog::log(level, "no word from ingest at {} for {}; reconnecting", options_.work_endpoint,
                  absl::FormatDuration(now - last_heard_));
      SetIngestConnected(false);
      metrics_.reconnects.Increment();
      return ConnectToIngest();
    }
    if (now - last_sent_ >= options_.heartbeat_interval) {
      v1::WorkerMessage heartbeat;
      heartbeat.set_heartbeat(true);
      return SendToIngest(heartbeat);
    }
    return absl::OkStatus();
  }

  // Says goodbye, then hands what is held to sink within linger_ms.
  absl::Status Stop() {
    stopping_ = true;
    v1::WorkerMessage goodbye;
    goodbye.set_goodbye(true);
    RETURN_IF_ERROR(SendToIngest(goodbye));
    const absl::Time deadline = MonotonicNow() + absl::Milliseconds(options_.linger_ms);
    while (!outbox_.empty() && MonotonicNow() < deadline) {
      std::vector<zmq::pollitem_t> items = {{sink_.handle(), 0, ZMQ_POLLOUT, 0}};
      ASSIGN_OR_RETURN(int ready, Poll(items, deadline - MonotonicNow()));
      if (ready > 0) RETURN_IF_ERROR(FlushOutbox());
    }
    if (!outbox_.empty()) {
      spdlog::warn("sink unreachable: {} tagged articles not delivered (ingest redelivers them)",
                   outbox_.size());
    }
    spdlog::info("stopping: articles={} untagged={} failed={} malformed={} reconnects={}",
                 metrics_.articles.Value(), metrics_.untagged.Value(), metrics_.failed.Value(),
                 metrics_.malformed.Value(), metrics_.reconnects.Value());
    SetIngestConnected(false);
    return absl::OkStatus();
  }

  zmq::context_t& context_;
  const ClassifyOptions& options_;
  std::shared_ptr<const Classifier> classifier_;  // replaced by Reload() between items
  std::string taxonomy_file_;                     // FileStamp() when last loaded
  absl::Time last_file_check_ = MonotonicNow();
  std::shared_ptr<prometheus::Registry> registry_;
  ClassifyMetrics metrics_;
  std::shared_ptr<Readiness> readiness_;
  zmq::socket_t sink_{context_, zmq::socket_type::push};
  SocketMonitor sink_monitor_;
  zmq::socket_t work_;
  SocketMonitor work_monitor_;
  bool work_disconnected_ = false;
  std::deque<Pending> outbox_;
  // Holds the Dispatch being handled and its Deliveries until they are serialized.
  google::protobuf::Arena arena_{[] {
    google::protobuf::ArenaOptions options;
    options.start_block_size = 64 << 10;
    options.max_block_size = 256 << 10;
    return options;
  }()};
  absl::Time last_heard_ = MonotonicNow();
  absl::Time last_sent_ = MonotonicNow();
  bool stopping_ = false;
};

}  // namespace

std::shared_ptr<Readiness> NewClassifyReadiness() {
  // In ClassifyCondition's order.
  return std::make_shared<Readiness>(std::vector<std::string>{
      "taxonomy not loaded", "no heartbeat from ingest", "no connection to sink"});
}

absl::StatusOr<int> BlockSighupIntoFd() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
    return absl::InternalError("cannot block SIGHUP");
  }
  const int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return absl::InternalError(absl::StrCat("signalfd: ", std::strerror(errno)));
  return fd;
}

absl::Status RunStage(zmq::context_t& context, const ClassifyOptions& options,
                      const Classifier& classifier, int shutdown_fd) {
  // Not owned: the caller keeps it alive for the whole run.
  return RunStage(context, options,
                  std::shared_ptr<const Classifier>(&classifier, [](const Classifier*) {}),
                  shutdown_fd);
}

absl::Status RunStage(zmq::context_t& context, const ClassifyOptions& options,
                      std::shared_ptr<const Classifier> classifier, int shutdown_fd) {
  if (classifier == nullptr) return absl::InvalidArgumentError("no classifier");
  if (options.credit <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("credit must be at least 1, got ", options.credit));
  }
  if (options.heartbeat_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("heartbeat_interval must be positive");
  }
  Worker worker(context, options, std::move(classifier));
  return worker.Run(shutdown_fd);
}

}  // namespace topicwire::classify
