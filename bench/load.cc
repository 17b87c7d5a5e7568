#include "bench/load.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "common/zmq_channel.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace topicwire::bench {
namespace {

constexpr char kSentAttribute[] = "bench_sent_unix_ns";

int64_t NowUnixNanos() { return absl::ToUnixNanos(absl::Now()); }

// Decodes only the article of a serialized TaggedArticle and counts its tags without decoding
// them: the subscriber shares the machine's cores with the stages it measures, and decoding
// every copy's evidence (one copy per tag, each several KB) cost it more CPU than the stages
// spent on the article.
bool ParseArticleOnly(const zmq::message_t& frame, v1::Article& article, int64_t& tags) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream input(static_cast<const uint8_t*>(frame.data()),
                                               static_cast<int>(frame.size()));
  article.Clear();
  tags = 0;
  while (const uint32_t tag = input.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) != v1::TaggedArticle::kArticleFieldNumber ||
        WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (WireFormatLite::GetTagFieldNumber(tag) == v1::TaggedArticle::kTagsFieldNumber) ++tags;
      if (!WireFormatLite::SkipField(&input, tag)) return false;
      continue;
    }
    // A repeated occurrence merges, as in a full parse.
    if (!WireFormatLite::ReadMessage(&input, &article)) return false;
  }
  return input.ConsumedEntireMessage();
}

// Counts distinct articles of the run arriving at the stream endpoint.
class Subscriber {
 public:
  Subscriber(zmq::context_t& context, std::string endpoint, std::string id_prefix)
      : context_(context), endpoint_(std::move(endpoint)), id_prefix_(std::move(id_prefix)) {}

  absl::Status Start() {
    socket_ = zmq::socket_t(context_, zmq::socket_type::sub);
    RETURN_IF_ERROR(ConfigureSocket(socket_, 0));
    socket_.set(zmq::sockopt::rcvhwm, 0);  // the subscriber must not be the bottleneck
    socket_.set(zmq::sockopt::subscribe, "");
    RETURN_IF_ERROR(Connect(socket_, endpoint_));
    thread_ = std::thread([this] { Loop(); });
    return absl::OkStatus();
  }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  int64_t warmups() const { return warmups_.load(); }
  int64_t received() const { return received_.load(); }
  // REQUIRES: Stop() was called.
  int64_t tags() const { return tags_; }
  int64_t copies() const { return copies_; }
  int64_t copy_bytes() const { return copy_bytes_; }
  absl::Time last_receive() const {
    std::lock_guard lock(mu_);
    return last_receive_;
  }
  std::vector<double> TakeLatencies() {
    std::lock_guard lock(mu_);
    return std::move(latencies_ms_);
  }

 private:
  void Loop() {
    std::vector<zmq::pollitem_t> items = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
    Frames frames;
    v1::Article article;
    int64_t tags = 0;
    while (!stop_) {
      absl::StatusOr<int> ready = Poll(items, absl::Milliseconds(50));
      if (!ready.ok() || *ready == 0) continue;
      while (true) {
        absl::StatusOr<bool> got = RecvFrames(socket_, frames, /*dont_wait=*/true);
        if (!got.ok() || !*got) break;
        if (frames.size() != 2 || !ParseArticleOnly(frames[1], article, tags)) continue;
        const std::string& id = article.id();
        if (!absl::StartsWith(id, id_prefix_)) continue;
        const bool warmup = absl::StrContains(id, "-warm-");
        if (!warmup) {
          ++copies_;
          copy_bytes_ += static_cast<int64_t>(frames[1].size());
        }
        if (!seen_.insert(id).second) continue;  // one article, several streams
        const int64_t now = NowUnixNanos();
        if (warmup) {
          ++warmups_;
          continue;
        }
        tags_ += tags;
        int64_t sent = 0;
        auto it = article.attributes().find(kSentAttribute);
        const bool has_sent =
            it != article.attributes().end() && absl::SimpleAtoi(it->second, &sent);
        std::lock_guard lock(mu_);
        if (has_sent) latencies_ms_.push_back(static_cast<double>(now - sent) / 1e6);
        last_receive_ = absl::FromUnixNanos(now);
        ++received_;
      }
    }
  }

  zmq::context_t& context_;
  const std::string endpoint_;
  const std::string id_prefix_;
  zmq::socket_t socket_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> warmups_{0};
  std::atomic<int64_t> received_{0};
  // Written by the subscriber's thread only, read after Stop().
  int64_t tags_ = 0;
  int64_t copies_ = 0;
  int64_t copy_bytes_ = 0;
  absl::flat_hash_set<std::string> seen_;
  mutable std::mutex mu_;
  std::vector<double> latencies_ms_;
  absl::Time last_receive_;
};

}  // namespace

double LoadResult::ArticlesPerSecond() const {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  return seconds > 0 ? static_cast<double>(received) / seconds : 0;
}

double LoadResult::MegabytesPerSecond() const {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  if (seconds <= 0 || published == 0) return 0;
  const double bytes_per_article = static_cast<double>(payload_bytes) / published;
  return static_cast<double>(received) * bytes_per_article / 1e6 / seconds;
}

double LoadResult::TagsPerArticle() const {
  return received > 0 ? static_cast<double>(tags) / static_cast<double>(received) : 0;
}

double LoadResult::CopiesPerArticle() const {
  return received > 0 ? static_cast<double>(copies) / static_cast<double>(received) : 0;
}

double LoadResult::BytesPerCopy() const {
  return copies > 0 ? static_cast<double>(copy_bytes) / static_cast<double>(copies) : 0;
}

double LoadResult::LatencyPercentileMs(double p) const {
  if (latencies_ms.empty()) return 0;
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * (latencies_ms.size() - 1);
  return latencies_ms[static_cast<size_t>(std::llround(rank))];
}

absl::StatusOr<LoadResult> RunLoad(zmq::context_t& context, const LoadOptions& options) {
  if (options.count <= 0 || options.batch <= 0 || options.window <= 0) {
    return absl::InvalidArgumentError("count, batch and window must be positive");
  }
  Subscriber subscriber(context, options.stream_endpoint, options.run_id + "-");
  RETURN_IF_ERROR(subscriber.Start());
  struct StopSubscriber {
    Subscriber& s;
    ~StopSubscriber() { s.Stop(); }
  } stop_subscriber{subscriber};

  zmq::socket_t publisher(context, zmq::socket_type::dealer);
  RETURN_IF_ERROR(ConfigureSocket(publisher, 0));
  RETURN_IF_ERROR(Connect(publisher, options.publish_endpoint));
  std::vector<zmq::pollitem_t> items = {{publisher.handle(), 0, ZMQ_POLLIN, 0}};

  // Warm-up: one article at a time until the subscriber sees one, so that the measured run
  // does not race the subscription.
  const absl::Time warm_deadline = absl::Now() + options.idle_timeout;
  for (int64_t w = 0; subscriber.warmups() == 0; ++w) {
    if (absl::Now() > warm_deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("no warm-up article reached ", options.stream_endpoint, " within ",
                       absl::FormatDuration(options.idle_timeout), ": is the pipeline running?"));
    }
    v1::PublishRequest request;
    *request.add_articles() = MakeSyntheticArticle(options.run_id + "-warm", w, 200, options.mix);
    RETURN_IF_ERROR(SendProto(publisher, request));
    ASSIGN_OR_RETURN(int ready, Poll(items, absl::Seconds(2)));
    if (ready > 0) {
      Frames frames;
      RETURN_IF_ERROR(RecvFrames(publisher, frames).status());
    }
    for (int i = 0; i < 20 && subscriber.warmups() == 0; ++i)
      absl::SleepFor(absl::Milliseconds(10));
  }

  LoadResult result;
  std::deque<std::vector<v1::Article>> in_flight;  // replies come back in request order
  std::deque<v1::Article> retry;                   // BUSY articles, sent again first
  int64_t next = 0;
  const absl::Time start = absl::Now();
  absl::Time last_progress = start;
  int64_t last_received = 0;

  auto expected = [&] { return options.count - result.rejected - result.duplicate; };
  while (subscriber.received() < expected()) {
    // Send while the window and the rate allow.
    // At a fixed rate every article is its own request, as from many independent publishers:
    // the window must not throttle the rate (at 10,000/s and a 5 ms fsync, 50 are in flight).
    const int window = options.rate > 0 ? std::max(options.window, 4096) : options.window;
    while (static_cast<int>(in_flight.size()) < window &&
           (next < options.count || !retry.empty())) {
      if (options.rate > 0) {
        const absl::Time due = start + absl::Seconds(static_cast<double>(next) / options.rate);
        if (absl::Now() < due) break;
      }
      v1::PublishRequest request;
      std::vector<v1::Article> sent;
      const int batch = options.rate > 0 ? 1 : options.batch;
      while (static_cast<int>(sent.size()) < batch && (next < options.count || !retry.empty())) {
        v1::Article article;
        if (!retry.empty()) {
          article = std::move(retry.front());
          retry.pop_front();
        } else {
          article =
              MakeSyntheticArticle(options.run_id, next++, options.article_bytes, options.mix);
          result.payload_bytes += static_cast<int64_t>(article.ByteSizeLong()) + 40;
          ++result.published;
        }
        (*article.mutable_attributes())[kSentAttribute] = absl::StrCat(NowUnixNanos());
        *request.add_articles() = article;
        sent.push_back(std::move(article));
      }
      RETURN_IF_ERROR(SendProto(publisher, request));
      in_flight.push_back(std::move(sent));
    }
    absl::Duration wait = absl::Milliseconds(in_flight.empty() ? 5 : 50);
    if (options.rate > 0 && next < options.count) {
      // Until the next article is due. Poll counts whole milliseconds, so sub-millisecond gaps
      // send in small bursts rather than spinning a core that the pipeline needs.
      const absl::Time due = start + absl::Seconds(static_cast<double>(next) / options.rate);
      wait = std::clamp(due - absl::Now(), absl::Milliseconds(1), absl::Milliseconds(5));
    }
    ASSIGN_OR_RETURN(int ready, Poll(items, wait));
    for (int i = 0; i < ready * 1000; ++i) {
      Frames frames;
      ASSIGN_OR_RETURN(bool got, RecvFrames(publisher, frames, /*dont_wait=*/true));
      if (!got) break;
      v1::PublishReply reply;
      if (frames.empty() || !ParseFrame(frames.back(), reply).ok() || in_flight.empty()) {
        return absl::DataLossError("ingest sent a reply that is not a PublishReply");
      }
      std::vector<v1::Article> sent = std::move(in_flight.front());
      in_flight.pop_front();
      if (!reply.error().empty()) return absl::InternalError("ingest refused: " + reply.error());
      for (const v1::PublishAck& ack : reply.acks()) {
        switch (ack.status()) {
          case v1::PublishAck::ACCEPTED:
            ++result.accepted;
            break;
          case v1::PublishAck::DUPLICATE:
            ++result.duplicate;
            break;
          case v1::PublishAck::BUSY:
            ++result.busy_retries;
            if (ack.index() < sent.size()) retry.push_back(sent[ack.index()]);
            break;
          default:
            ++result.rejected;
        }
      }
    }
    const absl::Time now = absl::Now();
    if (subscriber.received() != last_received) {
      last_received = subscriber.received();
      last_progress = now;
    } else if (now - last_progress > options.idle_timeout) {
      break;
    }
  }
  result.received = subscriber.received();
  result.elapsed = subscriber.last_receive() - start;
  subscriber.Stop();
  result.tags = subscriber.tags();
  result.copies = subscriber.copies();
  result.copy_bytes = subscriber.copy_bytes();
  result.latencies_ms = subscriber.TakeLatencies();
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  return result;
}

}  // namespace topicwire::bench
