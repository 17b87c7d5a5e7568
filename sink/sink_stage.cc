#include "sink/sink_stage.h"

#include <poll.h>
#include <zmq.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/socket_monitor.h"
#include "common/status_macros.h"
#include "common/zmq_channel.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/util/time_util.h"
#include "proto/history.pb.h"
#include "proto/internal.pb.h"
#include "spdlog/spdlog.h"

namespace topicwire::sink {
namespace {

using google::protobuf::util::TimeUtil;

// Cap on what a subscriber may send the stream socket: only subscriptions arrive there, and XPUB
// keeps about 100 bytes of trie per byte of a subscription, so one subscription at the common
// 64 MiB frame cap would cost gigabytes. Topic ids are short.
constexpr int64_t kMaxSubscriptionBytes = 1024;

// The whole stage: sockets, metrics and the handlers the poll loop calls.
class SinkStage {
 public:
  SinkStage(zmq::context_t& context, const StageOptions& options, Store& store)
      : context_(context),
        options_(options),
        store_(store),
        registry_(options.registry ? options.registry : std::make_shared<prometheus::Registry>()),
        metrics_(*registry_),
        health_(options.health ? options.health : std::make_shared<SinkHealth>()) {}

  absl::Status Run(int shutdown_fd) {
    RETURN_IF_ERROR(SetUpSockets());
    enum { kShutdown, kInput, kHistory, kStream, kMonitor };
    std::vector<zmq::pollitem_t> items = {
        {nullptr, shutdown_fd, ZMQ_POLLIN, 0},
        {input_.handle(), 0, ZMQ_POLLIN, 0},
        {history_.handle(), 0, ZMQ_POLLIN, 0},
        {stream_.handle(), 0, ZMQ_POLLIN, 0},
    };
    if (monitor_.watching()) items.push_back({monitor_.handle(), 0, ZMQ_POLLIN, 0});
    spdlog::info("storing deliveries from {}, streams on {}, history on {}, acks to {}",
                 bound_.input, bound_.stream, bound_.history, options_.commit_endpoint);
    while (true) {
      ASSIGN_OR_RETURN(int ready, Poll(items, absl::InfiniteDuration()));
      if (ready == 0) continue;
      // Shutdown wins over input: stop taking deliveries; everything already received has
      // been stored, published and acknowledged by the handler that received it.
      if (items[kShutdown].revents & ZMQ_POLLIN) break;
      if (items[kStream].revents & ZMQ_POLLIN) RETURN_IF_ERROR(DrainSubscriptions());
      if (monitor_.watching() && (items[kMonitor].revents & ZMQ_POLLIN))
        RETURN_IF_ERROR(DrainMonitor());
      if (items[kHistory].revents & ZMQ_POLLIN) RETURN_IF_ERROR(ServeHistory());
      if (items[kInput].revents & ZMQ_POLLIN) RETURN_IF_ERROR(HandleDeliveries());
    }
    health_->set_sockets_bound(false);
    spdlog::info(
        "stopping: stored={} duplicates={} malformed={} acks_dropped={} history_requests={} "
        "last_sequence={}",
        metrics_.articles_stored.Value(), metrics_.articles_duplicate.Value(),
        metrics_.deliveries_malformed.Value(), metrics_.acks_dropped.Value(),
        metrics_.history_requests.Value(), store_.head_sequence());
    return absl::OkStatus();
  }

 private:
  absl::Status SetUpSockets() {
    health_->set_store_open(true);  // RunStage's precondition
    metrics_.last_sequence.Set(static_cast<double>(store_.head_sequence()));
    UpdateStoreSize();
    // Input is dropped on exit: anything unread is redelivered by ingest.
    RETURN_IF_ERROR(ConfigureSocket(input_, /*linger_ms=*/0));
    RETURN_IF_ERROR(ConfigureSocket(stream_, options_.linger_ms));
    RETURN_IF_ERROR(SetMaxMessageSize(stream_, kMaxSubscriptionBytes));
    RETURN_IF_ERROR(ConfigureSocket(history_, options_.linger_ms));
    RETURN_IF_ERROR(ConfigureSocket(commit_, options_.linger_ms));
    RETURN_IF_ERROR(SetSendHighWaterMark(stream_, options_.stream_send_hwm));
    if (options_.curve.enabled()) {
      ASSIGN_OR_RETURN(curve_, curve::Authenticator::Start(context_, options_.curve, *registry_,
                                                           "topicwire_sink_auth_refused_total"));
      RETURN_IF_ERROR(curve_->SecureServer(stream_));
      RETURN_IF_ERROR(curve_->SecureServer(history_));
      spdlog::info(
          "stream and history endpoints require CURVE: server key {}, clients allowed "
          "by {}",
          curve_->public_key(), options_.curve.allow_list_file);
    }
    RETURN_IF_ERROR(Bind(input_, options_.input_endpoint));
    RETURN_IF_ERROR(Bind(stream_, options_.stream_endpoint));
    RETURN_IF_ERROR(Bind(history_, options_.history_endpoint));
    ASSIGN_OR_RETURN(bound_.input, LastEndpoint(input_));
    ASSIGN_OR_RETURN(bound_.stream, LastEndpoint(stream_));
    ASSIGN_OR_RETURN(bound_.history, LastEndpoint(history_));
    RETURN_IF_ERROR(MonitorCommitSocket());
    RETURN_IF_ERROR(Connect(commit_, options_.commit_endpoint));
    if (!monitor_.watching()) health_->set_commit_connected(true);
    health_->set_sockets_bound(true);
    if (options_.on_bound) options_.on_bound(bound_);
    return absl::OkStatus();
  }

  // Readiness needs to know whether ingest is reachable; a ZeroMQ socket monitor reports the
  // commit PUSH's handshakes and disconnects. inproc:// emits no events, so it is not watched.
  absl::Status MonitorCommitSocket() {
    if (absl::StartsWith(options_.commit_endpoint, "inproc://")) return absl::OkStatus();
    ASSIGN_OR_RETURN(monitor_,
                     SocketMonitor::Start(context_, commit_,
                                          ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED));
    return absl::OkStatus();
  }

  absl::Status DrainMonitor() {
    return monitor_.DrainConnectionEvents([this](bool connected) {
      if (connected) {
        spdlog::info("connected to ingest's commit endpoint {}", options_.commit_endpoint);
      } else {
        spdlog::warn("lost ingest's commit endpoint {}", options_.commit_endpoint);
      }
      health_->set_commit_connected(connected);
    });
  }

  absl::Status DrainSubscriptions() {
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
      } else if (bytes[0] == 0) {
        spdlog::debug("last subscription to '{}' ended", topic);
      }
    }
  }

  absl::Status HandleDeliveries() {
    // The batch is parsed onto one arena: a Delivery carries dozens of evidence messages, and
    // allocating and freeing each one on its own made malloc/free 31% of sink's CPU (22% now).
    google::protobuf::ArenaOptions arena_options;
    arena_options.start_block_size = 64 << 10;
    arena_options.max_block_size = 1 << 20;
    google::protobuf::Arena arena(arena_options);
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
    if (deliveries.empty()) return absl::OkStatus();

    std::vector<const v1::TaggedArticle*> articles;
    articles.reserve(deliveries.size());
    for (const v1::Delivery* delivery : deliveries) articles.push_back(&delivery->tagged());
    const absl::Time start = absl::Now();
    ASSIGN_OR_RETURN(std::vector<StoreOutcome> outcomes, store_.StoreArticles(articles, start));
    metrics_.store_commit_seconds.Observe(absl::ToDoubleSeconds(absl::Now() - start));

    // Publish only after the commit: a copy on the stream is always also in history.
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
      for (size_t copy = 0; copy < outcome.streams.size(); ++copy) {
        const std::string& stream = outcome.streams[copy].first;
        // Written straight into the frame: one copy of the stored bytes per stream.
        Frames frames;
        frames.emplace_back(stream.data(), stream.size());
        frames.push_back(ToFrameAfter(outcome.serialized, CopyStreamFields(outcome, copy)));
        // XPUB drops for a subscriber at its high-water mark instead of blocking.
        RETURN_IF_ERROR(SendFrames(stream_, frames, /*dont_wait=*/true));
        metrics_.CountPublished(stream);
      }
    }
    metrics_.last_sequence.Set(static_cast<double>(store_.head_sequence()));
    UpdateStoreSize();

    // Every delivery is confirmed, already stored ones too: ingest may have missed our last ack.
    v1::CommitAck ack;
    for (size_t i = 0; i < deliveries.size(); ++i) {
      v1::CommitAck::Committed* committed = ack.add_committed();
      committed->set_journal_seq(deliveries[i]->journal_seq());
      committed->set_article_id(articles[i]->article().id());
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

  absl::Status ServeHistory() {
    // A bounded number per wake-up, so that history cannot starve the input.
    for (int served = 0; served < 16; ++served) {
      Frames frames;
      ASSIGN_OR_RETURN(bool got, RecvFrames(history_, frames, /*dont_wait=*/true));
      if (!got) return absl::OkStatus();
      metrics_.history_requests.Increment();
      if (frames.size() < 2) continue;  // ROUTER always prepends the peer id; cannot happen
      // The body is the last frame; everything before it is the envelope (DEALER: [id];
      // REQ: [id][empty]), sent back unchanged so that either client type gets its reply.
      zmq::message_t body = std::move(frames.back());
      frames.pop_back();
      const v1::HistoryReply reply = Answer(body);
      if (!reply.error().empty()) {
        metrics_.history_errors.Increment();
        spdlog::warn("refusing a history request: {}", reply.error());
      }
      frames.push_back(ToFrame(reply));
      absl::Status sent = SendFrames(history_, frames, /*dont_wait=*/true);
      if (absl::IsResourceExhausted(sent)) {
        spdlog::warn("dropping a history reply: the client is not reading");
      } else {
        RETURN_IF_ERROR(sent);
      }
    }
    return absl::OkStatus();
  }

  v1::HistoryReply Answer(const zmq::message_t& body) {
    v1::HistoryReply reply;
    v1::HistoryRequest request;
    if (absl::Status parsed = ParseFrame(body, request); !parsed.ok()) {
      reply.set_error(std::string(parsed.message()));
      return reply;
    }
    HistoryQuery query;
    query.after_sequence = request.after_sequence();
    if (request.has_since_time()) {
      if (request.after_sequence() != 0) {
        reply.set_error("set after_sequence or since_time, not both");
        return reply;
      }
      const google::protobuf::Timestamp& since = request.since_time();
      if (since.seconds() < TimeUtil::kTimestampMinSeconds ||
          since.seconds() > TimeUtil::kTimestampMaxSeconds || since.nanos() < 0 ||
          since.nanos() > 999'999'999) {
        reply.set_error("since_time is not a valid timestamp");
        return reply;
      }
      query.since = absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(request.since_time()));
    }
    if (request.topics_size() > options_.history_max_topics) {
      reply.set_error(absl::StrCat("too many topics (", request.topics_size(), "); at most ",
                                   options_.history_max_topics));
      return reply;
    }
    for (const std::string& topic : request.topics()) {
      if (topic.empty()) {
        reply.set_error("an empty topic; name a topic id or \"untagged\"");
        return reply;
      }
      query.streams.push_back(topic);
    }
    if (request.has_gap()) CountReportedGap(request.gap());
    query.max_articles = request.limit() == 0
                             ? options_.history_default_limit
                             : std::min(request.limit(), options_.history_max_limit);
    query.max_bytes = options_.history_max_reply_bytes;
    absl::StatusOr<HistoryPage> page = store_.ReadHistory(query);
    if (!page.ok()) {
      spdlog::error("reading history: {}", page.status().ToString());
      reply.set_error(absl::StrCat("history is unavailable right now: ", page.status().message()));
      return reply;
    }
    for (v1::TaggedArticle& copy : page->copies) *reply.add_messages() = std::move(copy);
    reply.set_last_sequence(page->last_sequence);
    reply.set_complete(page->complete);
    reply.set_head_sequence(page->head_sequence);
    return reply;
  }

  // A stream never holds more copies than the store holds articles, so a larger report is bogus
  // and is capped rather than let one client inflate the counter.
  void CountReportedGap(const v1::GapReport& gap) {
    const uint64_t missed = std::min<uint64_t>(gap.missed(), store_.head_sequence());
    if (gap.stream().empty() || missed == 0) return;
    metrics_.CountSubscriberGap(gap.stream(), missed);
    spdlog::debug(
        "a subscriber of '{}' missed {} message(s) from stream_sequence {} and is "
        "filling them from history",
        gap.stream(), missed, gap.first_missing());
  }

  void UpdateStoreSize() {
    absl::StatusOr<int64_t> size = store_.SizeBytes();
    if (size.ok()) metrics_.store_bytes.Set(static_cast<double>(*size));
  }

  zmq::context_t& context_;
  const StageOptions& options_;
  Store& store_;
  std::shared_ptr<prometheus::Registry> registry_;
  SinkMetrics metrics_;
  std::shared_ptr<SinkHealth> health_;
  BoundEndpoints bound_;
  zmq::socket_t input_{context_, zmq::socket_type::pull};
  zmq::socket_t stream_{context_, zmq::socket_type::xpub};
  zmq::socket_t history_{context_, zmq::socket_type::router};
  zmq::socket_t commit_{context_, zmq::socket_type::push};
  SocketMonitor monitor_;                        // closed before commit_: declared after it
  std::unique_ptr<curve::Authenticator> curve_;  // null: stream and history are plaintext
};

}  // namespace

absl::Status RunStage(zmq::context_t& context, const StageOptions& options, Store& store,
                      int shutdown_fd) {
  SinkStage stage(context, options, store);
  return stage.Run(shutdown_fd);
}

}  // namespace topicwire::sink
