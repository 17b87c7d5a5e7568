#include "sink/sink_stage.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/socket_monitor.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "common/zmq_channel.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/util/time_util.h"
#include "proto/internal.pb.h"
#include "sink/streams.h"
#include "sink/subscription_limit.h"
#include "spdlog/spdlog.h"

namespace topicwire::sink {
namespace {

using google::protobuf::util::TimeUtil;

// Cap on what a subscriber may send the stream socket: only subscriptions arrive there, and XPUB
// keeps about 100 bytes of trie per byte of a subscription, so one subscription at the common
// 64 MiB frame cap would cost gigabytes. Topic ids are short.
constexpr int64_t kMaxSubscriptionBytes = 1024;

// The numeric address of the peer of TCP socket `fd` (as libzmq's "Peer-Address" gives it).
std::optional<std::string> PeerAddress(int fd) {
  sockaddr_storage peer{};
  socklen_t length = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return std::nullopt;
  char text[INET6_ADDRSTRLEN] = {};
  const void* address = nullptr;
  if (peer.ss_family == AF_INET) {
    address = &reinterpret_cast<const sockaddr_in*>(&peer)->sin_addr;
  } else if (peer.ss_family == AF_INET6) {
    address = &reinterpret_cast<const sockaddr_in6*>(&peer)->sin6_addr;
  } else {
    return std::nullopt;
  }
  if (inet_ntop(peer.ss_family, address, text, sizeof(text)) == nullptr) return std::nullopt;
  return std::string(text);
}

// The local TCP port of socket `fd`, or -1.
int LocalPort(int fd) {
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) return -1;
  if (local.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
  }
  if (local.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port);
  }
  return -1;
}

// Deliveries read together, parsed onto one arena.
struct Batch {
  std::unique_ptr<google::protobuf::Arena> arena;
  std::vector<v1::Delivery*> deliveries;
};

// The whole stage: sockets, metrics and the handlers the poll loop calls.
class SinkStage {
 public:
  SinkStage(zmq::context_t& context, const SinkOptions& options, Store& store)
      : context_(context),
        options_(options),
        store_(store),
        registry_(options.registry ? options.registry : std::make_shared<prometheus::Registry>()),
        metrics_(*registry_),
        readiness_(options.readiness ? options.readiness : NewSinkReadiness()),
        history_service_(options.history, store, metrics_) {}

  absl::Status Run(int shutdown_fd) {
    RETURN_IF_ERROR(SetUpSockets());
    std::vector<zmq::pollitem_t> items = {
        {nullptr, shutdown_fd, ZMQ_POLLIN, 0},
        {input_.handle(), 0, ZMQ_POLLIN, 0},
        {history_.handle(), 0, ZMQ_POLLIN, 0},
        {stream_.handle(), 0, ZMQ_POLLIN, 0},
        // A negative fd is ignored by poll: nothing to watch without a monitor.
        stream_monitor_.watching() ? zmq::pollitem_t{stream_monitor_.handle(), 0, ZMQ_POLLIN, 0}
                                   : zmq::pollitem_t{nullptr, -1, 0, 0},
    };
    if (monitor_.watching()) items.push_back({monitor_.handle(), 0, ZMQ_POLLIN, 0});
    if (store_.published_through() < store_.head_sequence()) {
      ASSIGN_OR_RETURN(bool stopping, PublishUnpublished(items));
      if (stopping) return Stop();
    }
    spdlog::info("storing deliveries from {}, streams on {}, history on {}, acks to {}",
                 bound_.input, bound_.stream, bound_.history, options_.commit_endpoint);
    while (true) {
      // While the store is full the held batch waits for space, and nothing more is read:
      // workers then keep their deliveries (and their credit), so ingest's pending articles
      // grow until it answers publishers BUSY.
      items[kInput].events = held_ ? 0 : ZMQ_POLLIN;
      const absl::Duration timeout =
          held_ ? std::min(absl::Seconds(1), options_.store_full_retry_interval) : absl::Seconds(1);
      ASSIGN_OR_RETURN(int ready, Poll(items, timeout));
      if (MonotonicNow() - last_trim_ >= absl::Seconds(1)) RETURN_IF_ERROR(TrimStore());
      if (held_ && MonotonicNow() - held_since_retry_ >= options_.store_full_retry_interval) {
        RETURN_IF_ERROR(RetryHeldBatch());
      }
      if (ready == 0) continue;
      // Shutdown wins over input: stop taking deliveries; everything already received has
      // been stored, published and acknowledged by the handler that received it.
      if (items[kShutdown].revents & ZMQ_POLLIN) break;
      if (items[kStreamMonitor].revents & ZMQ_POLLIN) RETURN_IF_ERROR(DrainStreamMonitor());
      if (items[kStream].revents & ZMQ_POLLIN) RETURN_IF_ERROR(HandleStream());
      if (monitor_.watching() && (items[kMonitor].revents & ZMQ_POLLIN))
        RETURN_IF_ERROR(DrainMonitor());
      if (items[kHistory].revents & ZMQ_POLLIN) RETURN_IF_ERROR(HandleHistory());
      if (items[kInput].revents & ZMQ_POLLIN) RETURN_IF_ERROR(HandleInput());
    }
    return Stop();
  }

 private:
  // The poll items by name; kMonitor is there only while the commit socket is monitored.
  enum PollItem : size_t { kShutdown, kInput, kHistory, kStream, kStreamMonitor, kMonitor };

  absl::Status Stop() {
    readiness_->Set(kSocketsBound, false);
    spdlog::info(
        "stopping: stored={} duplicates={} malformed={} acks_dropped={} history_requests={} "
        "last_sequence={}",
        metrics_.articles_stored.Value(), metrics_.articles_duplicate.Value(),
        metrics_.deliveries_malformed.Value(), metrics_.acks_dropped.Value(),
        metrics_.history_requests.Value(), store_.head_sequence());
    return absl::OkStatus();
  }

  // Publishes the copies a crash between a batch's commit and its publication left unpublished
  // (ingest's redelivery finds those articles already stored, so nothing else would). Waits
  // options_.startup_publish_delay first, serving subscriptions and history but taking no input
  // (the copies go out before anything newer), so that subscribers reconnecting to the new
  // process have subscribed again. Returns true when shutdown came first.
  absl::StatusOr<bool> PublishUnpublished(std::vector<zmq::pollitem_t>& items) {
    const uint64_t from = store_.published_through();
    spdlog::warn("sequences {}..{} were stored but not published (a crash); publishing them in {}",
                 from + 1, store_.head_sequence(),
                 absl::FormatDuration(options_.startup_publish_delay));
    const absl::Time publish_at = MonotonicNow() + options_.startup_publish_delay;
    items[kInput].events = 0;
    while (MonotonicNow() < publish_at) {
      ASSIGN_OR_RETURN(int ready, Poll(items, publish_at - MonotonicNow()));
      if (ready == 0) continue;
      if (items[kShutdown].revents & ZMQ_POLLIN) return true;
      if (items[kStreamMonitor].revents & ZMQ_POLLIN) RETURN_IF_ERROR(DrainStreamMonitor());
      if (items[kStream].revents & ZMQ_POLLIN) RETURN_IF_ERROR(HandleStream());
      if (monitor_.watching() && (items[kMonitor].revents & ZMQ_POLLIN))
        RETURN_IF_ERROR(DrainMonitor());
      if (items[kHistory].revents & ZMQ_POLLIN) RETURN_IF_ERROR(HandleHistory());
    }
    uint64_t copies = 0;
    HistoryQuery query;
    query.after_sequence = from;
    while (true) {
      ASSIGN_OR_RETURN(HistoryPage page, store_.ReadHistory(query));
      for (v1::TaggedArticle& copy : page.copies) {
        const StreamPosition position{.stream = copy.stream(),
                                      .stream_sequence = copy.stream_sequence()};
        copy.clear_stream();
        copy.clear_stream_sequence();
        Frames frames = CopyFrames(copy.SerializeAsString(), position);
        RETURN_IF_ERROR(SendFrames(stream_, frames, /*dont_wait=*/true));
        metrics_.CountPublished(position.stream);
        ++copies;
      }
      RETURN_IF_ERROR(MarkPublished(page.last_sequence));
      if (page.complete || page.last_sequence <= query.after_sequence) break;
      query.after_sequence = page.last_sequence;
    }
    spdlog::info("published {} copies of sequences {}..{}", copies, from + 1,
                 store_.published_through());
    return false;
  }

  // A full disk may refuse the mark: the copies would only be published again after a crash.
  absl::Status MarkPublished(uint64_t sequence) {
    absl::Status marked = store_.MarkPublished(sequence);
    if (absl::IsResourceExhausted(marked)) {
      spdlog::warn("cannot record what was published: {}", std::string(marked.message()));
      return absl::OkStatus();
    }
    return marked;
  }

  absl::Status SetUpSockets() {
    readiness_->Set(kStoreOpen, true);  // RunStage's precondition
    metrics_.last_sequence.Set(static_cast<double>(store_.head_sequence()));
    UpdateStoreSize();
    // Input is dropped on exit: anything unread is redelivered by ingest.
    RETURN_IF_ERROR(ConfigureSocket(input_, /*linger_ms=*/0));
    RETURN_IF_ERROR(ConfigureSocket(stream_, options_.linger_ms));
    RETURN_IF_ERROR(SetMaxMessageSize(stream_, kMaxSubscriptionBytes));
    // Every subscription comes up, not only the first to each topic: each one costs memory in
    // the connection that sent it, so each one is counted against its client.
    if (const int verbose = 1;
        zmq_setsockopt(stream_.handle(), ZMQ_XPUB_VERBOSE, &verbose, sizeof(verbose)) != 0) {
      return absl::InternalError(
          absl::StrCat("cannot set ZMQ_XPUB_VERBOSE on the stream socket: ", zmq_strerror(errno)));
    }
    RETURN_IF_ERROR(ConfigureSocket(history_, options_.linger_ms));
    RETURN_IF_ERROR(ConfigureSocket(commit_, options_.linger_ms));
    RETURN_IF_ERROR(SetSendHighWaterMark(stream_, StreamSendHighWaterMark(options_)));
    RETURN_IF_ERROR(SetSendHighWaterMark(history_, HistorySendHighWaterMark(options_.history)));
    if (options_.curve.enabled()) {
      ASSIGN_OR_RETURN(curve_, curve::Authenticator::Start(context_, options_.curve, *registry_,
                                                           "topicwire_sink_auth_refused_total"));
      RETURN_IF_ERROR(curve_->SecureServer(stream_, curve::Audience::kClients, "stream"));
      RETURN_IF_ERROR(curve_->SecureServer(history_, curve::Audience::kClients, "history"));
      RETURN_IF_ERROR(curve_->SecureServer(input_, curve::Audience::kStages, "input"));
      spdlog::info(
          "every endpoint requires CURVE: server key {}; stream and history admit the clients "
          "in {}, input the stages in {}",
          curve_->public_key(), options_.curve.allow_list_file,
          options_.curve.stage_allow_list_file);
    }
    RETURN_IF_ERROR(curve::ApplyClientOptions(commit_, options_.commit_curve));
    RETURN_IF_ERROR(Bind(input_, options_.input_endpoint));
    RETURN_IF_ERROR(Bind(stream_, options_.stream_endpoint));
    RETURN_IF_ERROR(Bind(history_, options_.history_endpoint));
    ASSIGN_OR_RETURN(bound_.input, LastEndpoint(input_));
    ASSIGN_OR_RETURN(bound_.stream, LastEndpoint(stream_));
    ASSIGN_OR_RETURN(bound_.history, LastEndpoint(history_));
    // libzmq allows one monitor per socket, and under CURVE the authenticator's counts the
    // refused handshakes; there only allow-listed clients can subscribe at all.
    if (options_.max_subscriptions_per_client > 0 && !options_.curve.enabled() &&
        bound_.stream.rfind("tcp://", 0) == 0 &&
        absl::SimpleAtoi(bound_.stream.substr(bound_.stream.rfind(':') + 1), &stream_port_)) {
      ASSIGN_OR_RETURN(
          stream_monitor_,
          SocketMonitor::Start(context_, stream_, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED));
    }
    // Logged only: readiness must not follow ingest's restarts.
    ASSIGN_OR_RETURN(monitor_,
                     SocketMonitor::WatchConnections(context_, commit_, options_.commit_endpoint));
    RETURN_IF_ERROR(Connect(commit_, options_.commit_endpoint));
    readiness_->Set(kSocketsBound, true);
    if (options_.on_bound) options_.on_bound(bound_);
    return absl::OkStatus();
  }

  absl::Status DrainMonitor() {
    return monitor_.DrainConnectionEvents([this](bool connected) {
      if (connected) {
        spdlog::info("connected to ingest's commit endpoint {}", options_.commit_endpoint);
      } else {
        spdlog::warn("lost ingest's commit endpoint {}", options_.commit_endpoint);
      }
    });
  }

  // Connections accepted and lost on the stream socket, for the subscription limit.
  absl::Status DrainStreamMonitor() {
    if (!stream_monitor_.watching()) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<SocketEvent> events, stream_monitor_.Drain());
    for (const SocketEvent& event : events) {
      const int fd = static_cast<int>(event.value);
      if (event.event == ZMQ_EVENT_ACCEPTED) {
        if (std::optional<std::string> address = PeerAddress(fd)) {
          subscription_limit_.Accepted(fd, *address);
        }
      } else if (event.event == ZMQ_EVENT_DISCONNECTED) {
        subscription_limit_.Closed(fd);
      }
    }
    return absl::OkStatus();
  }

  // One more subscription from `address`; over the limit, every connection from that address is
  // shut down, so libzmq closes them and frees the subscriptions they hold. Its SUB sockets
  // reconnect and subscribe again by themselves.
  absl::Status CountSubscription(const std::string& address) {
    // The monitor may not have reported its connection yet.
    if (!subscription_limit_.Known(address)) RETURN_IF_ERROR(DrainStreamMonitor());
    if (!subscription_limit_.Subscribed(address)) return absl::OkStatus();
    RETURN_IF_ERROR(DrainStreamMonitor());  // its newest connections, too
    int cut = 0;
    for (const int fd : subscription_limit_.Connections(address)) {
      // The fd is checked again: the monitor reports it late, and a closed fd's number may
      // already belong to another socket.
      if (PeerAddress(fd) != address || LocalPort(fd) != stream_port_) continue;
      if (shutdown(fd, SHUT_RDWR) == 0) ++cut;
    }
    metrics_.stream_clients_cut_off.Increment();
    spdlog::warn(
        "{} sent more than --max_subscriptions_per_client={} subscriptions; closed its {} "
        "stream connection(s)",
        address, options_.max_subscriptions_per_client, cut);
    return absl::OkStatus();
  }

  // The stream socket: subscriptions coming up from subscribers.
  absl::Status HandleStream() {
    while (true) {
      Frames frames;
      ASSIGN_OR_RETURN(bool got, RecvFrames(stream_, frames, /*dont_wait=*/true));
      if (!got) return absl::OkStatus();
      // XPUB hands up [1 topic] for a new subscription and [0 topic] when the last subscriber
      // of a topic leaves.
      if (frames.empty() || frames[0].size() == 0) continue;
      const auto* bytes = static_cast<const char*>(frames[0].data());
      const std::string topic(bytes + 1, frames[0].size() - 1);
      if (bytes[0] == 1) {
        metrics_.stream_subscriptions.Increment();
        spdlog::debug("subscription to '{}'", topic);
        // Only TCP connections carry an address; inproc ones are this process's own.
        if (const char* address = zmq_msg_gets(frames[0].handle(), "Peer-Address")) {
          RETURN_IF_ERROR(CountSubscription(address));
        }
      } else if (bytes[0] == 0) {
        spdlog::debug("last subscription to '{}' ended", topic);
      }
    }
  }

  // The input socket: stores a batch of deliveries, publishes what is new, then confirms every
  // delivery of the batch to ingest.
  absl::Status HandleInput() {
    // The batch is parsed onto one arena: a Delivery carries dozens of evidence messages, and
    // allocating and freeing each one on its own made malloc/free 31% of sink's CPU (22% now).
    google::protobuf::ArenaOptions arena_options;
    arena_options.start_block_size = 64 << 10;
    arena_options.max_block_size = 1 << 20;
    Batch batch{.arena = std::make_unique<google::protobuf::Arena>(arena_options),
                .deliveries = {}};
    ASSIGN_OR_RETURN(batch.deliveries, ReadBatch(*batch.arena));
    if (batch.deliveries.empty()) return absl::OkStatus();
    return StoreBatch(std::move(batch));
  }

  // Stores, publishes and confirms `batch`; when the store is full, holds it unacknowledged
  // until a retry succeeds.
  absl::Status StoreBatch(Batch batch) {
    std::vector<const v1::TaggedArticle*> articles;
    articles.reserve(batch.deliveries.size());
    for (const v1::Delivery* delivery : batch.deliveries) articles.push_back(&delivery->tagged());
    const absl::Time start = MonotonicNow();
    absl::StatusOr<std::vector<StoreOutcome>> outcomes = store_.StoreBatch(articles, absl::Now());
    if (absl::IsResourceExhausted(outcomes.status())) {
      HoldWhileFull(std::move(batch), outcomes.status());
      return absl::OkStatus();
    }
    if (!outcomes.ok()) return outcomes.status();
    metrics_.store_commit_seconds.Observe(absl::ToDoubleSeconds(MonotonicNow() - start));
    if (held_) ResumeAfterFull();
    if (options_.after_commit_for_test) options_.after_commit_for_test(articles);
    // Publish only after the commit: a copy on the stream is always also in history.
    RETURN_IF_ERROR(Publish(articles, *outcomes));
    RETURN_IF_ERROR(MarkPublished(store_.head_sequence()));
    metrics_.last_sequence.Set(static_cast<double>(store_.head_sequence()));
    RETURN_IF_ERROR(Acknowledge(batch.deliveries));
    return TrimStore();
  }

  void HoldWhileFull(Batch batch, const absl::Status& why) {
    metrics_.store_full_batches.Increment();
    held_since_retry_ = MonotonicNow();
    if (!held_) {
      metrics_.store_full.Set(1);
      readiness_->SetDetail(absl::StrCat("not taking deliveries: ", why.message()));
      spdlog::warn(
          "{} deliveries held unacknowledged, retrying every {}: {}", batch.deliveries.size(),
          absl::FormatDuration(options_.store_full_retry_interval), std::string(why.message()));
    }
    held_ = std::make_unique<Batch>(std::move(batch));
  }

  void ResumeAfterFull() {
    held_.reset();
    metrics_.store_full.Set(0);
    readiness_->SetDetail("");
    spdlog::info("the store has room again: taking deliveries");
  }

  absl::Status RetryHeldBatch() {
    std::unique_ptr<Batch> batch = std::move(held_);
    held_ = std::make_unique<Batch>();  // still full until the retry succeeds
    return StoreBatch(std::move(*batch));
  }

  // Applies retention: a bounded amount per call, after every batch and once a second.
  absl::Status TrimStore() {
    last_trim_ = MonotonicNow();
    // Retention compares stored times, which are wall clock.
    absl::StatusOr<uint64_t> removed = store_.Trim(absl::Now());
    // A full disk may refuse retention's bookkeeping too; it is tried again in a second.
    if (absl::IsResourceExhausted(removed.status())) return absl::OkStatus();
    if (!removed.ok()) return removed.status();
    if (*removed > 0) spdlog::debug("retention removed {} article(s)", *removed);
    UpdateStoreSize();
    return absl::OkStatus();
  }

  // Reads the deliveries waiting on the input socket, up to the batch limits, onto `arena`.
  absl::StatusOr<std::vector<v1::Delivery*>> ReadBatch(google::protobuf::Arena& arena) {
    std::vector<v1::Delivery*> deliveries;
    size_t batch_bytes = 0;
    while (static_cast<int>(deliveries.size()) < options_.max_batch &&
           batch_bytes < options_.max_batch_bytes) {
      Frames frames;
      ASSIGN_OR_RETURN(bool got, RecvFrames(input_, frames, /*dont_wait=*/true));
      if (!got) break;
      if (frames.size() != 1) {
        DropMalformed(absl::StrCat("a message of ", frames.size(), " frames (expected one)"));
        continue;
      }
      v1::Delivery& delivery = *google::protobuf::Arena::CreateMessage<v1::Delivery>(&arena);
      if (absl::Status parsed = ParseFrame(frames[0], delivery); !parsed.ok()) {
        DropMalformed(parsed.message());
        continue;
      }
      if (delivery.tagged().article().id().empty()) {
        DropMalformed(absl::StrCat("Delivery with journal_seq ", delivery.journal_seq(),
                                   " has no article id"));
        continue;
      }
      batch_bytes += frames[0].size();
      deliveries.push_back(&delivery);
    }
    return deliveries;
  }

  // Publishes one copy per stream of each newly stored article; counts the rest as duplicates.
  absl::Status Publish(const std::vector<const v1::TaggedArticle*>& articles,
                       const std::vector<StoreOutcome>& outcomes) {
    for (size_t i = 0; i < outcomes.size(); ++i) {
      const StoreOutcome& outcome = outcomes[i];
      if (!outcome.newly_stored) {
        metrics_.articles_duplicate.Increment();
        spdlog::debug("article {} already stored as sequence {}", articles[i]->article().id(),
                      outcome.sequence);
        continue;
      }
      metrics_.articles_stored.Increment();
      if (articles[i]->has_accepted_at()) {
        const absl::Duration latency =
            outcome.stored_at -
            absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(articles[i]->accepted_at()));
        metrics_.end_to_end_seconds.Observe(absl::ToDoubleSeconds(latency));
      }
      for (const StreamPosition& position : outcome.streams) {
        Frames frames = CopyFrames(outcome.serialized, position);
        // XPUB drops for a subscriber at its high-water mark instead of blocking.
        RETURN_IF_ERROR(SendFrames(stream_, frames, /*dont_wait=*/true));
        metrics_.CountPublished(position.stream);
      }
    }
    return absl::OkStatus();
  }

  // Confirms every delivery to ingest, already stored ones too: ingest may have missed our last
  // ack.
  absl::Status Acknowledge(const std::vector<v1::Delivery*>& deliveries) {
    v1::CommitAck ack;
    for (const v1::Delivery* delivery : deliveries) {
      v1::CommitAck::Committed* committed = ack.add_committed();
      committed->set_journal_seq(delivery->journal_seq());
      committed->set_article_id(delivery->tagged().article().id());
    }
    // Never block on ingest: an ack that cannot be queued costs a redelivery, which is
    // recognised as already stored and acknowledged again.
    absl::Status sent = SendProto(commit_, ack, /*dont_wait=*/true);
    if (absl::IsResourceExhausted(sent)) {
      metrics_.acks_dropped.Increment(static_cast<double>(deliveries.size()));
      spdlog::warn(
          "cannot queue a CommitAck for {} deliveries (is ingest at {} up?); ingest "
          "will redeliver them",
          deliveries.size(), options_.commit_endpoint);
      return absl::OkStatus();
    }
    return sent;
  }

  void DropMalformed(absl::string_view why) {
    metrics_.deliveries_malformed.Increment();
    spdlog::warn("dropping input: {}", std::string(why));
  }

  // The history socket.
  absl::Status HandleHistory() { return history_service_.ServeWaiting(history_); }

  void UpdateStoreSize() {
    absl::StatusOr<int64_t> size = store_.SizeBytes();
    if (size.ok()) metrics_.store_bytes.Set(static_cast<double>(*size));
  }

  zmq::context_t& context_;
  const SinkOptions& options_;
  Store& store_;
  std::shared_ptr<prometheus::Registry> registry_;
  SinkMetrics metrics_;
  std::shared_ptr<Readiness> readiness_;
  HistoryService history_service_;
  BoundEndpoints bound_;
  // The batch the store refused for want of space (null: not full), and its last try.
  std::unique_ptr<Batch> held_;
  absl::Time held_since_retry_ = absl::InfinitePast();
  absl::Time last_trim_ = absl::InfinitePast();
  zmq::socket_t input_{context_, zmq::socket_type::pull};
  zmq::socket_t stream_{context_, zmq::socket_type::xpub};
  zmq::socket_t history_{context_, zmq::socket_type::router};
  zmq::socket_t commit_{context_, zmq::socket_type::push};
  SocketMonitor monitor_;         // closed before commit_: declared after it
  SocketMonitor stream_monitor_;  // closed before stream_: declared after it
  SubscriptionLimit subscription_limit_{options_.max_subscriptions_per_client};
  int stream_port_ = -1;                         // the stream socket's TCP port
  std::unique_ptr<curve::Authenticator> curve_;  // null: every endpoint is plaintext
};

}  // namespace

int StreamSendHighWaterMark(const SinkOptions& options) {
  if (options.stream_send_hwm > 0) return options.stream_send_hwm;
  return static_cast<int>(std::clamp<size_t>(options.stream_send_buffer_bytes / kTypicalCopyBytes,
                                             1, std::numeric_limits<int>::max()));
}

std::shared_ptr<Readiness> NewSinkReadiness() {
  // In SinkCondition's order.
  return std::make_shared<Readiness>(
      std::vector<std::string>{"store not open", "sockets not bound"});
}

absl::Status RunStage(zmq::context_t& context, const SinkOptions& options, Store& store,
                      int shutdown_fd) {
  SinkStage stage(context, options, store);
  return stage.Run(shutdown_fd);
}

}  // namespace topicwire::sink
