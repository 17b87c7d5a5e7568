#include "sink/history_service.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/zmq_channel.h"
#include "google/protobuf/util/time_util.h"
#include "spdlog/spdlog.h"

namespace topicwire::sink {

using google::protobuf::util::TimeUtil;

absl::StatusOr<HistoryQuery> ToHistoryQuery(const v1::HistoryRequest& request,
                                            const HistoryOptions& options) {
  HistoryQuery query;
  query.after_sequence = request.after_sequence();
  if (request.has_since_time()) {
    if (request.after_sequence() != 0) {
      return absl::InvalidArgumentError("set after_sequence or since_time, not both");
    }
    const google::protobuf::Timestamp& since = request.since_time();
    if (since.seconds() < TimeUtil::kTimestampMinSeconds ||
        since.seconds() > TimeUtil::kTimestampMaxSeconds || since.nanos() < 0 ||
        since.nanos() > 999'999'999) {
      return absl::InvalidArgumentError("since_time is not a valid timestamp");
    }
    query.since = absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(since));
  }
  if (request.topics_size() > options.max_topics) {
    return absl::InvalidArgumentError(absl::StrCat("too many topics (", request.topics_size(),
                                                   "); at most ", options.max_topics));
  }
  for (const std::string& topic : request.topics()) {
    if (topic.empty()) {
      return absl::InvalidArgumentError("an empty topic; name a topic id or \"untagged\"");
    }
    query.streams.push_back(topic);
  }
  query.max_articles =
      request.limit() == 0 ? options.default_limit : std::min(request.limit(), options.max_limit);
  query.max_bytes = options.max_reply_bytes;
  return query;
}

int HistorySendHighWaterMark(const HistoryOptions& options) {
  const size_t reply_bytes = std::max<size_t>(options.max_reply_bytes, 1);
  return static_cast<int>(std::clamp<size_t>(options.send_buffer_bytes / reply_bytes, 1,
                                             std::numeric_limits<int>::max()));
}

v1::HistoryReply HistoryService::Answer(const zmq::message_t& body) {
  v1::HistoryReply reply;
  v1::HistoryRequest request;
  if (absl::Status parsed = ParseFrame(body, request); !parsed.ok()) {
    reply.set_error(std::string(parsed.message()));
    return reply;
  }
  absl::StatusOr<HistoryQuery> query = ToHistoryQuery(request, options_);
  if (!query.ok()) {
    reply.set_error(std::string(query.status().message()));
    return reply;
  }
  if (request.has_gap()) CountReportedGap(request.gap());
  absl::StatusOr<HistoryPage> page = store_.ReadHistory(*query);
  if (!page.ok()) {
    spdlog::error("reading history: {}", page.status().ToString());
    reply.set_error(absl::StrCat("history is unavailable right now: ", page.status().message()));
    return reply;
  }
  for (v1::TaggedArticle& copy : page->copies) *reply.add_messages() = std::move(copy);
  reply.set_last_sequence(page->last_sequence);
  reply.set_complete(page->complete);
  reply.set_head_sequence(page->head_sequence);
  reply.set_first_sequence(page->first_sequence);
  reply.set_store_epoch(store_.epoch());
  return reply;
}

absl::Status HistoryService::ServeWaiting(zmq::socket_t& socket) {
  for (int served = 0; served < 16; ++served) {
    Frames frames;
    ASSIGN_OR_RETURN(bool got, RecvFrames(socket, frames, /*dont_wait=*/true));
    if (!got) return absl::OkStatus();
    metrics_.history_requests.Increment();
    if (frames.size() < 2) continue;  // ROUTER always prepends the peer id; cannot happen
    // The body is the last frame; everything before it is the envelope, sent back unchanged so
    // that either client type gets its reply.
    zmq::message_t body = std::move(frames.back());
    frames.pop_back();
    const v1::HistoryReply reply = Answer(body);
    if (!reply.error().empty()) {
      metrics_.history_errors.Increment();
      spdlog::warn("refusing a history request: {}", reply.error());
    }
    frames.push_back(ToFrame(reply));
    absl::Status sent = SendFrames(socket, frames, /*dont_wait=*/true);
    if (absl::IsResourceExhausted(sent)) {
      spdlog::warn("dropping a history reply: the client is not reading");
    } else {
      RETURN_IF_ERROR(sent);
    }
  }
  return absl::OkStatus();
}

// A stream never holds more copies than the store holds articles, so a larger report is bogus
// and is capped rather than let one client inflate the counter.
void HistoryService::CountReportedGap(const v1::GapReport& gap) {
  const uint64_t missed = std::min<uint64_t>(gap.missed(), store_.head_sequence());
  if (gap.stream().empty() || missed == 0) return;
  metrics_.CountSubscriberGap(gap.stream(), missed);
  spdlog::debug(
      "a subscriber of '{}' missed {} message(s) from stream_sequence {} and is "
      "filling them from history",
      gap.stream(), missed, gap.first_missing());
}

}  // namespace topicwire::sink
