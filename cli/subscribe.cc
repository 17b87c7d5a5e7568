#include "cli/subscribe.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "common/zmq_channel.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/timestamp.pb.h"
#include "proto/article.pb.h"
#include "proto/history.pb.h"

namespace topicwire::cli {
namespace {

// Prints messages once each, in the order given, and tracks per-stream sequence numbers to
// report gaps and to drop live copies that history already printed.
class Printer {
 public:
  Printer(const SubscribeOptions& options, std::ostream& out, std::ostream& err)
      : options_(options), out_(out), err_(err) {}

  bool Wanted(const std::string& stream) const {
    return options_.topics.empty() || std::find(options_.topics.begin(), options_.topics.end(),
                                                stream) != options_.topics.end();
  }

  // The messages of its stream that printing `tagged` would skip (0 when it follows on).
  uint64_t GapBefore(const v1::TaggedArticle& tagged) const {
    auto it = last_.find(tagged.stream());
    if (it == last_.end() || tagged.stream_sequence() <= it->second + 1) return 0;
    return tagged.stream_sequence() - it->second - 1;
  }

  // A hole of `missed` messages in a live stream, `filled` of them printed from history.
  void CountGap(uint64_t missed, uint64_t filled) {
    ++result_.gaps;
    result_.gap_messages += static_cast<int64_t>(missed);
    result_.gap_messages_filled += static_cast<int64_t>(filled);
  }

  // The store sequence of the last message printed on `stream` (0 before any).
  uint64_t last_sequence(const std::string& stream) const {
    auto it = last_sequence_.find(stream);
    return it == last_sequence_.end() ? 0 : it->second;
  }

  // Prints `tagged` unless it was printed already. Returns true when the count is reached.
  bool Print(const v1::TaggedArticle& tagged) {
    const std::string& stream = tagged.stream();
    const uint64_t seq = tagged.stream_sequence();
    auto it = last_.find(stream);
    if (it != last_.end()) {
      if (seq != 0 && seq <= it->second) return false;  // already printed (history overlap)
      if (seq > it->second + 1) {
        const uint64_t missed = seq - it->second - 1;
        result_.missed += static_cast<int64_t>(missed);
        err_ << "gap on stream '" << stream << "': missed " << missed << " message(s) ("
             << "stream_sequence " << it->second + 1 << " to " << seq - 1 << ")\n"
             << std::flush;
      }
    }
    if (seq != 0) last_[stream] = seq;
    last_sequence_[stream] = tagged.sequence();
    out_ << FormatLine(tagged, options_.format) << std::flush;
    ++result_.printed;
    if (options_.count > 0 && result_.printed >= options_.count) result_.count_reached = true;
    return result_.count_reached;
  }

  // A line on stderr.
  void Warn(const std::string& line) { err_ << line << "\n" << std::flush; }

  // Takes note of the store epoch a reply or copy came with. Returns true when it is a new
  // store (reset or replaced): the positions kept so far are dropped, so that what the new
  // store holds is printed from its start. Epoch 0 (a sink without epochs) changes nothing.
  bool AdoptEpoch(uint64_t epoch) {
    if (epoch == 0 || epoch == epoch_) return false;
    const uint64_t previous = epoch_;
    epoch_ = epoch;
    if (previous == 0) return false;  // first seen (or a position file without one)
    Warn(absl::StrCat("sink's store changed (store epoch ", epoch, ", was ", previous,
                      "): it was reset or replaced, so sequences started over; dropping the "
                      "saved positions and replaying what the new store holds"));
    last_.clear();
    last_sequence_.clear();
    return true;
  }

  SubscribeResult& result() { return result_; }

  // Streams printed so far, with the last stream_sequence of each.
  const absl::flat_hash_map<std::string, uint64_t>& last_stream_sequences() const { return last_; }

  // Continues from a previous run's position: messages at or before it count as printed.
  void Restore(const v1::SubscriberPosition& position) {
    epoch_ = position.store_epoch();
    for (const auto& [stream, at] : position.streams()) {
      last_[stream] = at.stream_sequence();
      last_sequence_[stream] = at.sequence();
    }
  }

  v1::SubscriberPosition Position() const {
    v1::SubscriberPosition position;
    position.set_store_epoch(epoch_);
    for (const auto& [stream, stream_sequence] : last_) {
      v1::SubscriberPosition::Stream& at = (*position.mutable_streams())[stream];
      at.set_stream_sequence(stream_sequence);
      at.set_sequence(last_sequence(stream));
    }
    return position;
  }

 private:
  const SubscribeOptions& options_;
  std::ostream& out_;
  std::ostream& err_;
  absl::flat_hash_map<std::string, uint64_t> last_;
  absl::flat_hash_map<std::string, uint64_t> last_sequence_;
  uint64_t epoch_ = 0;  // the store epoch of the positions above (0: not known yet)
  SubscribeResult result_;
};

// Pages through history (HistoryRequest/HistoryReply) and prints it, stopping early when the
// count is reached or on shutdown.
absl::Status ReplayHistory(zmq::context_t& context, const SubscribeOptions& options,
                           const HistoryStart& start, const std::vector<std::string>& topics,
                           const std::string& endpoint, int shutdown_fd, Printer& printer,
                           const v1::GapReport* gap = nullptr) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  RETURN_IF_ERROR(ConfigureSocket(socket, /*linger_ms=*/0));
  RETURN_IF_ERROR(curve::ApplyClientOptions(socket, options.curve));
  RETURN_IF_ERROR(Connect(socket, endpoint));
  v1::HistoryRequest request;
  request.set_after_sequence(start.after_sequence);
  if (start.since_time.has_value()) {
    const absl::Time t = *start.since_time;
    const int64_t seconds = absl::ToUnixSeconds(t);
    request.mutable_since_time()->set_seconds(seconds);
    request.mutable_since_time()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  }
  for (const std::string& topic : topics) request.add_topics(topic);
  // Large pages: catching up on a long history is dominated by round trips (sink caps the size).
  request.set_limit(1000);
  if (gap != nullptr) *request.mutable_gap() = *gap;

  while (true) {
    RETURN_IF_ERROR(SendProto(socket, request));
    std::vector<zmq::pollitem_t> items = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
    if (shutdown_fd >= 0) items.push_back({nullptr, shutdown_fd, ZMQ_POLLIN, 0});
    ASSIGN_OR_RETURN(int ready, topicwire::Poll(items, options.history_timeout));
    if (items.size() > 1 && (items[1].revents & ZMQ_POLLIN)) {
      printer.result().interrupted = true;
      return absl::OkStatus();
    }
    if (ready == 0 || !(items[0].revents & ZMQ_POLLIN)) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no reply from history endpoint ", endpoint, " within ",
          absl::FormatDuration(options.history_timeout),
          ": is sink running? (--history sets the endpoint; by convention it is the stream "
          "port + 1)"));
    }
    Frames frames;
    ASSIGN_OR_RETURN(bool received, RecvFrames(socket, frames));
    if (!received || frames.empty()) continue;
    v1::HistoryReply reply;
    if (!ParseFrame(frames.back(), reply).ok()) {
      return absl::DataLossError(
          absl::StrCat(endpoint, " answered with something that is not a HistoryReply"));
    }
    if (!reply.error().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("history endpoint ", endpoint, " refused the request: ", reply.error()));
    }
    if (printer.AdoptEpoch(reply.store_epoch()) &&
        (request.after_sequence() > 0 || request.has_since_time())) {
      // Positions of the old store mean nothing in the new one: start from its beginning.
      request.set_after_sequence(0);
      request.clear_since_time();
      request.clear_gap();
      continue;
    }
    if (!request.has_since_time() && reply.first_sequence() > request.after_sequence() + 1) {
      printer.Warn(absl::StrCat("history expired from sequence ", reply.first_sequence(),
                                ": articles ", request.after_sequence() + 1, " to ",
                                reply.first_sequence() - 1,
                                " are no longer in sink's store (retention)"));
    }
    for (const v1::TaggedArticle& tagged : reply.messages()) {
      if (!printer.Wanted(tagged.stream())) continue;
      if (printer.Print(tagged)) return absl::OkStatus();
    }
    // A page that does not advance would repeat forever: treat it as the end.
    if (reply.complete() || reply.last_sequence() <= request.after_sequence()) break;
    request.set_after_sequence(reply.last_sequence());
    request.clear_since_time();
    request.clear_gap();  // reported once, with the first page
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::SubscriberPosition>> ReadPosition(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::optional<v1::SubscriberPosition>();  // first run
  std::stringstream text;
  text << in.rdbuf();
  v1::SubscriberPosition position;
  if (!google::protobuf::TextFormat::ParseFromString(text.str(), &position)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--resume file ", path, " is not a subscriber position; delete it to start afresh"));
  }
  return position;
}

// Replaces the file atomically (write, then rename) so that a crash leaves the old or the new
// position, never half of one.
absl::Status WritePosition(const std::string& path, const v1::SubscriberPosition& position) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(position, &text);
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out.flush()) {
      return absl::UnavailableError(absl::StrCat("cannot write --resume file ", temporary));
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot replace --resume file ", path));
  }
  return absl::OkStatus();
}

v1::GapReport MakeGapReport(const std::string& stream, uint64_t first_missing, uint64_t missed) {
  v1::GapReport gap;
  gap.set_stream(stream);
  gap.set_first_missing(first_missing);
  gap.set_missed(missed);
  return gap;
}

}  // namespace

absl::StatusOr<HistoryStart> ParseSince(const std::string& text) {
  HistoryStart start;
  // SimpleAtoi may leave a partial value behind on failure ("2025-..." -> 2025): use a temporary.
  if (uint64_t sequence = 0; absl::SimpleAtoi(text, &sequence)) {
    start.after_sequence = sequence;
    return start;
  }
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    start.since_time = time;
    return start;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--since=", text,
                   " is neither a sequence number (0 = all history) nor an RFC 3339 time such "
                   "as 2025-03-27T09:00:00Z"));
}

absl::StatusOr<std::string> HistoryEndpointFor(const std::string& stream_endpoint) {
  const size_t colon = stream_endpoint.rfind(':');
  int port = 0;
  if (colon == std::string::npos || stream_endpoint.find("://") == colon ||
      !absl::SimpleAtoi(stream_endpoint.substr(colon + 1), &port) || port <= 0 || port >= 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot derive the history endpoint from ", stream_endpoint,
                     " (it is the stream port + 1 by convention); pass --history"));
  }
  return absl::StrCat(stream_endpoint.substr(0, colon + 1), port + 1);
}

absl::StatusOr<SubscribeResult> Subscribe(zmq::context_t& context, const SubscribeOptions& options,
                                          int shutdown_fd, std::ostream& out, std::ostream& err) {
  zmq::socket_t socket(context, zmq::socket_type::sub);
  RETURN_IF_ERROR(ConfigureSocket(socket, /*linger_ms=*/0));
  RETURN_IF_ERROR(curve::ApplyClientOptions(socket, options.curve));
  // A burst (history replay, a big publish) should queue here rather than cost a round trip to
  // history; the bound keeps a subscriber that stalls from growing without limit.
  RETURN_IF_ERROR(SetReceiveHighWaterMark(socket, options.receive_queue));
  // Prefix subscriptions narrow what the publisher sends; Printer::Wanted then compares exactly
  // ("ai" must not let "ai_ethics" through).
  {
    std::vector<std::string> prefixes = options.topics;
    if (prefixes.empty()) prefixes.push_back("");
    for (const std::string& prefix : prefixes) RETURN_IF_ERROR(AddSubscription(socket, prefix));
  }
  RETURN_IF_ERROR(Connect(socket, options.endpoint));

  Printer printer(options, out, err);
  std::optional<HistoryStart> since = options.since;
  if (!options.resume_file.empty()) {
    ASSIGN_OR_RETURN(std::optional<v1::SubscriberPosition> position,
                     ReadPosition(options.resume_file));
    if (position.has_value() && !position->streams().empty()) {
      printer.Restore(*position);
      // History from the earliest stream's position covers every stream; what each stream
      // already printed is dropped by its stream_sequence.
      uint64_t earliest = UINT64_MAX;
      for (const auto& [stream, at] : position->streams()) {
        earliest = std::min(earliest, at.sequence());
      }
      since = HistoryStart{.after_sequence = earliest > 0 ? earliest - 1 : 0};
      err << "resuming after store sequence " << since->after_sequence << " from "
          << options.resume_file << "\n";
    }
  }
  absl::Time last_saved = MonotonicNow();
  const auto save_position = [&](bool force) -> absl::Status {
    if (options.resume_file.empty()) return absl::OkStatus();
    if (!force && MonotonicNow() - last_saved < absl::Milliseconds(200)) return absl::OkStatus();
    last_saved = MonotonicNow();
    return WritePosition(options.resume_file, printer.Position());
  };
  const auto finish = [&]() -> absl::StatusOr<SubscribeResult> {
    RETURN_IF_ERROR(save_position(/*force=*/true));
    return printer.result();
  };
  // Clone pattern: the live subscription exists (and queues) before history is read, so nothing
  // published in between is missed; live copies that history printed are dropped by Printer.
  std::string history = options.history_endpoint;
  if (history.empty()) {
    absl::StatusOr<std::string> by_convention = HistoryEndpointFor(options.endpoint);
    if (by_convention.ok()) {
      history = *by_convention;
    } else if (since.has_value()) {
      return by_convention.status();
    }
  }
  // Without a history endpoint, holes are reported on stderr only.
  bool fill_gaps = options.fill_gaps && !history.empty();
  // One unanswered history request is enough to stop asking: each would stall the live stream
  // for --history_timeout.
  const auto give_up_filling = [&](const absl::Status& why) {
    err << "cannot fill gaps from history (" << why.message()
        << "); further holes are only reported\n";
    fill_gaps = false;
  };
  if (since.has_value()) {
    RETURN_IF_ERROR(
        ReplayHistory(context, options, *since, options.topics, history, shutdown_fd, printer));
    if (printer.result().count_reached || printer.result().interrupted) return finish();
  }

  // Fills the hole of `missed` messages before stream_sequence `first_missing + missed` on
  // `stream` from history and reports it to sink (HistoryRequest.gap).
  const auto fill_hole = [&](const std::string& stream, uint64_t first_missing,
                             uint64_t missed) -> absl::Status {
    if (!fill_gaps) {
      printer.CountGap(missed, /*filled=*/0);
      return absl::OkStatus();
    }
    const v1::GapReport gap = MakeGapReport(stream, first_missing, missed);
    const uint64_t before = printer.last_stream_sequences().at(stream);
    absl::Status filled =
        ReplayHistory(context, options, {.after_sequence = printer.last_sequence(stream)}, {stream},
                      history, shutdown_fd, printer, &gap);
    // History may print newer messages of the stream too: only the hole counts as filled.
    const uint64_t advanced = printer.last_stream_sequences().at(stream) - before;
    printer.CountGap(missed, std::min(advanced, missed));
    if (!filled.ok()) give_up_filling(filled);
    return absl::OkStatus();
  };
  // A hole at the end of a burst has no later live message to reveal it: after a quiet moment
  // history is asked whether the streams printed so far have anything newer, once per quiet
  // period.
  const absl::Duration quiet_check = std::min(absl::Seconds(1), options.idle_timeout / 2);
  bool live_since_quiet_check = false;
  const auto check_quiet_streams = [&]() -> absl::Status {
    live_since_quiet_check = false;
    const absl::flat_hash_map<std::string, uint64_t> before = printer.last_stream_sequences();
    if (!fill_gaps || before.empty()) return absl::OkStatus();
    uint64_t after = UINT64_MAX;
    std::vector<std::string> streams;
    for (const auto& [stream, unused] : before) {
      after = std::min(after, printer.last_sequence(stream));
      streams.push_back(stream);
    }
    absl::Status read = ReplayHistory(context, options, {.after_sequence = after}, streams, history,
                                      shutdown_fd, printer);
    if (!read.ok()) {
      give_up_filling(read);
      return absl::OkStatus();
    }
    for (const auto& [stream, last] : before) {
      const uint64_t now = printer.last_stream_sequences().at(stream);
      if (now == last) continue;
      printer.CountGap(now - last, /*filled=*/now - last);
      // Already printed: this request only carries the report.
      const v1::GapReport gap = MakeGapReport(stream, last + 1, now - last);
      absl::Status reported =
          ReplayHistory(context, options, {.after_sequence = printer.last_sequence(stream)},
                        {stream}, history, shutdown_fd, printer, &gap);
      if (!reported.ok()) give_up_filling(reported);
    }
    return absl::OkStatus();
  };

  absl::Time last_message = MonotonicNow();
  while (true) {
    std::vector<zmq::pollitem_t> items = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
    if (shutdown_fd >= 0) items.push_back({nullptr, shutdown_fd, ZMQ_POLLIN, 0});
    absl::Duration wait = absl::InfiniteDuration();
    if (options.idle_timeout != absl::InfiniteDuration()) {
      wait = std::max(absl::ZeroDuration(), last_message + options.idle_timeout - MonotonicNow());
    }
    if (live_since_quiet_check) {
      wait = std::min(wait,
                      std::max(absl::ZeroDuration(), last_message + quiet_check - MonotonicNow()));
    }
    ASSIGN_OR_RETURN(int ready, topicwire::Poll(items, wait));
    (void)ready;
    if (items.size() > 1 && (items[1].revents & ZMQ_POLLIN)) {
      printer.result().interrupted = true;
      break;
    }
    if (!(items[0].revents & ZMQ_POLLIN)) {
      if (live_since_quiet_check && MonotonicNow() - last_message >= quiet_check) {
        RETURN_IF_ERROR(check_quiet_streams());
        if (printer.result().count_reached || printer.result().interrupted) break;
        continue;
      }
      if (options.idle_timeout != absl::InfiniteDuration() &&
          MonotonicNow() - last_message >= options.idle_timeout) {
        printer.result().idle_timed_out = true;
        break;
      }
      continue;
    }
    Frames frames;
    ASSIGN_OR_RETURN(bool received, RecvFrames(socket, frames, /*dont_wait=*/true));
    if (!received) continue;
    last_message = MonotonicNow();
    if (frames.size() != 2) {
      err << "ignoring a message of " << frames.size()
          << " frames (expected [topic][TaggedArticle])\n";
      continue;
    }
    const std::string topic = frames[0].to_string();
    if (!printer.Wanted(topic)) continue;
    v1::TaggedArticle tagged;
    if (!ParseFrame(frames[1], tagged).ok()) {
      err << "ignoring a message on '" << topic << "' that is not a TaggedArticle ("
          << frames[1].size() << " bytes)\n";
      continue;
    }
    if (tagged.stream().empty()) tagged.set_stream(topic);
    if (printer.AdoptEpoch(tagged.store_epoch()) && !history.empty()) {
      // A new store: what it held before this copy comes from its history first.
      RETURN_IF_ERROR(ReplayHistory(context, options, {.after_sequence = 0}, options.topics,
                                    history, shutdown_fd, printer));
      if (printer.result().count_reached || printer.result().interrupted) break;
    }
    // A hole in a stream (the stream socket dropped messages because this subscriber fell
    // behind, or the live subscription connected after history was read) is filled from
    // history first, and reported to sink so that the loss shows in its metrics.
    if (const uint64_t hole = printer.GapBefore(tagged); hole > 0) {
      RETURN_IF_ERROR(fill_hole(tagged.stream(), tagged.stream_sequence() - hole, hole));
      if (printer.result().count_reached || printer.result().interrupted) break;
    }
    live_since_quiet_check = true;
    if (printer.Print(tagged)) break;
    RETURN_IF_ERROR(save_position(/*force=*/false));
  }
  return finish();
}

std::string GapSummary(const SubscribeResult& result) {
  if (result.gaps == 0 && result.missed == 0) return "";
  return absl::StrCat("topicwire subscribe: ", result.gaps, " gap(s) in the live streams (",
                      result.gap_messages, " message(s) dropped for this subscriber), ",
                      result.gap_messages_filled, " filled from history, ", result.missed,
                      " not printed\n");
}

int SubscribeExitCode(const SubscribeOptions& options, const SubscribeResult& result) {
  if (result.count_reached || result.interrupted) return 0;
  if (result.idle_timed_out) return options.count == 0 && result.printed > 0 ? 0 : 1;
  return 0;
}

namespace {

const CommandSpec kSubscribe = {
    .name = "subscribe",
    .arguments = "[TOPIC...]",
    .brief = "Print tagged articles from the topic streams (and history)",
    .summary =
        "Prints tagged articles as sink publishes them, on the given streams (topic ids\n"
        "or 'untagged'; none: all). json prints only TaggedArticle JSON lines on stdout;\n"
        "gaps and warnings go to stderr. Exit 0 when --count was reached, on Ctrl-C, or\n"
        "when --timeout passed after at least one message (without --count); exit 1\n"
        "when --timeout passed before that; 2 on bad arguments or connection errors.",
    .flags = WithCurveClientFlags(
        {
            {"from", "ENDPOINT", "tcp://127.0.0.1:7401", "sink's stream endpoint"},
            {"count", "N", "0", "Stop after N messages (0: no limit)"},
            {"timeout", "SECONDS", "0", "Stop after this long without a message (0: never)"},
            {"format", "json|text|ninjs", "json",
             "json: TaggedArticle JSON mapping; text: one short line; ninjs: IPTC ninjs 3.x"},
            {"since", "SEQ|TIME", "",
             "First print history after store sequence SEQ (0: all) or since an RFC 3339 TIME"},
            {"history", "ENDPOINT", "", "sink's history endpoint (\"\": stream port + 1)"},
            {"resume", "FILE", "",
             "Continue after the last message a previous run with this FILE printed (history fills "
             "the time between); FILE is rewritten as messages are printed"},
            {"queue", "N", "10000",
             "Live messages to queue while busy; beyond that they are dropped and filled from "
             "history"},
            {"fill-gaps", "", "true",
             "Fill holes in a live stream (messages dropped while this subscriber fell behind) "
             "from history and report them to sink's metrics; --fill-gaps=false only reports "
             "them",
             true},
        },
        "sink's CURVE public key (or its .pub file); with --curve-key: encrypted, "
        "authenticated streams and history")};

int RunSubscribeCommand(const ParsedArgs& args, CommandIo& io) {
  SubscribeOptions options;
  options.endpoint = args.Get("from");
  options.topics = args.positional();
  options.history_endpoint = args.Get("history");
  options.resume_file = args.Get("resume");
  absl::StatusOr<curve::ClientOptions> curve = CurveClientOptions(args);
  if (!curve.ok()) return Fail(io, "subscribe", curve.status());
  options.curve = *std::move(curve);
  absl::StatusOr<int64_t> count = args.GetInt("count");
  absl::StatusOr<absl::Duration> timeout = args.GetSeconds("timeout");
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(args.Get("format"));
  absl::StatusOr<bool> fill_gaps = args.GetBool("fill-gaps");
  absl::StatusOr<int64_t> queue = args.GetInt("queue");
  for (const absl::Status& status :
       {count.status(), timeout.status(), format.status(), fill_gaps.status(), queue.status()}) {
    if (!status.ok()) return Fail(io, "subscribe", status);
  }
  if (*queue < 1 || *queue > 10'000'000) {
    return Fail(io, "subscribe",
                absl::InvalidArgumentError("--queue must be between 1 and 10000000 messages"));
  }
  options.fill_gaps = *fill_gaps;
  options.receive_queue = static_cast<int>(*queue);
  if (*count < 0) {
    return Fail(io, "subscribe", absl::InvalidArgumentError("--count must be 0 or more"));
  }
  options.count = *count;
  if (*timeout > absl::ZeroDuration()) options.idle_timeout = *timeout;
  options.format = *format;
  if (args.Has("since")) {
    absl::StatusOr<HistoryStart> since = ParseSince(args.Get("since"));
    if (!since.ok()) return Fail(io, "subscribe", since.status());
    options.since = *since;
  }
  std::optional<Shutdown> shutdown;
  absl::StatusOr<int> fd = ShutdownFd(io, shutdown);
  if (!fd.ok()) return Fail(io, "subscribe", fd.status());
  zmq::context_t context(1);
  absl::StatusOr<SubscribeResult> result = Subscribe(context, options, *fd, io.out, io.err);
  if (!result.ok()) return Fail(io, "subscribe", result.status());
  io.err << GapSummary(*result);
  const int code = SubscribeExitCode(options, *result);
  if (code != kExitOk) {
    io.err << "topicwire subscribe: " << result->printed << " message(s) within "
           << absl::FormatDuration(options.idle_timeout) << " of silence"
           << (options.count > 0 ? absl::StrCat(", wanted ", options.count) : "") << " from "
           << options.endpoint << "\n";
  }
  return code;
}

}  // namespace

const Command& SubscribeCommand() {
  static const Command* const command = new Command{kSubscribe, RunSubscribeCommand};
  return *command;
}

}  // namespace topicwire::cli
