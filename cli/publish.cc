#include "cli/publish.h"

#include <unistd.h>

#include <algorithm>
#include <deque>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "common/zmq_channel.h"
#include "proto/article.pb.h"

namespace topicwire::cli {
namespace {

// A request on the wire: which articles it carries, in order.
struct InFlight {
  std::vector<size_t> indices{};
  absl::Time sent{};
};

std::string NoReplyMessage(const PublishOptions& options) {
  return absl::StrCat("no reply from ", options.endpoint, " within ",
                      absl::FormatDuration(options.timeout), ": is ingest running? (topicwire up)");
}

}  // namespace

absl::StatusOr<PublishSummary> Publish(zmq::context_t& context, const PublishOptions& options,
                                       const std::vector<SourcedArticle>& articles, int shutdown_fd,
                                       std::ostream& progress) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  // Whatever is unsent when we give up is not worth waiting for.
  RETURN_IF_ERROR(ConfigureSocket(socket, /*linger_ms=*/0));
  RETURN_IF_ERROR(curve::ApplyClientOptions(socket, options.curve));
  RETURN_IF_ERROR(Connect(socket, options.endpoint));

  PublishSummary summary;
  std::deque<size_t> queue;
  for (size_t i = 0; i < articles.size(); ++i) queue.push_back(i);
  std::deque<InFlight> in_flight;
  std::vector<size_t> sizes(articles.size());
  for (size_t i = 0; i < articles.size(); ++i) sizes[i] = articles[i].article.ByteSizeLong();

  bool stopping = false;
  absl::Time last_reply = MonotonicNow();
  absl::Time resend_not_before = absl::InfinitePast();
  absl::Duration backoff = options.busy_backoff;
  absl::Time last_progress = absl::InfinitePast();
  const size_t total = articles.size();
  size_t answered = 0;

  auto show_progress = [&](bool final) {
    if (!options.show_progress) return;
    const absl::Time now = MonotonicNow();
    if (!final && now - last_progress < absl::Milliseconds(100)) return;
    last_progress = now;
    progress << "\rpublished " << answered << "/" << total << " (accepted " << summary.accepted
             << ", duplicate " << summary.duplicate << ", rejected " << summary.rejected.size()
             << ")" << (final ? "\n" : "") << std::flush;
  };

  while (true) {
    const absl::Time now = MonotonicNow();
    while (!stopping && static_cast<int>(in_flight.size()) < options.max_in_flight &&
           !queue.empty() && now >= resend_not_before) {
      v1::PublishRequest request;
      InFlight flight{.sent = now};
      size_t bytes = 0;
      while (!queue.empty() && static_cast<int>(flight.indices.size()) < options.batch_size) {
        const size_t next = queue.front();
        if (!flight.indices.empty() && bytes + sizes[next] > options.max_request_bytes) break;
        bytes += sizes[next];
        *request.add_articles() = articles[next].article;
        flight.indices.push_back(next);
        queue.pop_front();
      }
      if (absl::Status sent = SendProto(socket, request, /*dont_wait=*/true); !sent.ok()) {
        queue.insert(queue.begin(), flight.indices.begin(), flight.indices.end());
        if (sent.code() == absl::StatusCode::kResourceExhausted) break;  // wait for replies
        return sent;
      }
      if (in_flight.empty()) last_reply = now;  // the timeout counts from the first request
      in_flight.push_back(std::move(flight));
    }
    if (in_flight.empty() && (queue.empty() || stopping)) break;

    std::vector<zmq::pollitem_t> items = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
    if (shutdown_fd >= 0 && !stopping) items.push_back({nullptr, shutdown_fd, ZMQ_POLLIN, 0});
    absl::Duration wait = absl::Milliseconds(100);
    if (!in_flight.empty()) wait = std::min(wait, last_reply + options.timeout - now);
    if (in_flight.empty() && !queue.empty()) wait = std::min(wait, resend_not_before - now);
    ASSIGN_OR_RETURN(int ready, topicwire::Poll(items, std::max(wait, absl::ZeroDuration())));
    (void)ready;
    if (items.size() > 1 && (items[1].revents & ZMQ_POLLIN)) stopping = true;

    if (items[0].revents & ZMQ_POLLIN) {
      Frames frames;
      ASSIGN_OR_RETURN(bool received, RecvFrames(socket, frames, /*dont_wait=*/true));
      if (received && !frames.empty()) {
        last_reply = MonotonicNow();
        v1::PublishReply reply;
        if (!ParseFrame(frames.back(), reply).ok()) {
          return absl::DataLossError(
              absl::StrCat(options.endpoint,
                           " answered with something that is not a "
                           "PublishReply: is it ingest's publish endpoint?"));
        }
        if (in_flight.empty()) {
          return absl::DataLossError(
              absl::StrCat(options.endpoint, " sent a reply to a request we did not send"));
        }
        InFlight flight = std::move(in_flight.front());
        in_flight.pop_front();
        bool busy = false;
        if (!reply.error().empty()) {
          for (size_t index : flight.indices) {
            summary.rejected.push_back({articles[index].article.id(), articles[index].origin,
                                        absl::StrCat("request refused: ", reply.error())});
            ++answered;
          }
        } else {
          if (static_cast<size_t>(reply.acks_size()) != flight.indices.size()) {
            return absl::DataLossError(absl::StrCat(options.endpoint, " answered ",
                                                    reply.acks_size(), " acks to a request of ",
                                                    flight.indices.size(), " articles"));
          }
          for (const v1::PublishAck& ack : reply.acks()) {
            if (ack.index() >= flight.indices.size()) {
              return absl::DataLossError(absl::StrCat(options.endpoint, " acked article index ",
                                                      ack.index(), " of a request of ",
                                                      flight.indices.size()));
            }
            const size_t index = flight.indices[ack.index()];
            switch (ack.status()) {
              case v1::PublishAck::ACCEPTED:
                ++summary.accepted;
                ++answered;
                break;
              case v1::PublishAck::DUPLICATE:
                ++summary.duplicate;
                ++answered;
                break;
              case v1::PublishAck::BUSY:
                ++summary.busy_retries;
                queue.push_back(index);
                busy = true;
                break;
              default:
                summary.rejected.push_back(
                    {ack.id().empty() ? articles[index].article.id() : ack.id(),
                     articles[index].origin,
                     ack.reason().empty() ? "rejected without a reason" : ack.reason()});
                ++answered;
                break;
            }
          }
        }
        if (busy) {
          resend_not_before = MonotonicNow() + backoff;
          backoff = std::min(backoff * 2, options.max_busy_backoff);
        } else {
          backoff = options.busy_backoff;
        }
      }
    }
    if (!in_flight.empty() && MonotonicNow() - last_reply >= options.timeout) {
      return absl::DeadlineExceededError(NoReplyMessage(options));
    }
    show_progress(false);
  }
  summary.not_sent = static_cast<int64_t>(queue.size());
  show_progress(true);
  return summary;
}

void PrintSummary(const PublishSummary& summary, std::ostream& out) {
  out << "accepted " << summary.accepted << ", duplicate " << summary.duplicate << ", rejected "
      << summary.rejected.size();
  if (summary.busy_retries > 0) out << ", busy retries " << summary.busy_retries;
  if (summary.not_sent > 0) out << ", not sent (interrupted) " << summary.not_sent;
  out << "\n";
  for (const Rejection& rejection : summary.rejected) {
    out << "rejected " << (rejection.id.empty() ? "(no id)" : rejection.id) << " ("
        << rejection.origin << "): " << rejection.reason << "\n";
  }
}

int PublishExitCode(const PublishSummary& summary) {
  return summary.rejected.empty() && summary.not_sent == 0 ? 0 : 1;
}

namespace {

const CommandSpec kPublish = {
    .name = "publish",
    .arguments = "[FILE... | -]",
    .brief = "Send articles (JSON, JSON Lines, text, Markdown) to ingest",
    .summary =
        "Publishes articles to ingest. Reads JSON (an Article or an array), JSON Lines\n"
        "(*.jsonl) and plain text or Markdown (*.txt, *.md: first line is the title);\n"
        "'-' or no FILE reads standard input. Exit 0: all accepted or duplicate;\n"
        "1: something was rejected; 2: bad input or no answer from ingest.",
    .flags = WithCurveClientFlags(
        {
            {"to", "ENDPOINT", "tcp://127.0.0.1:7400", "ingest's publish endpoint"},
            {"timeout", "SECONDS", "10", "Give up when ingest does not answer for this long"},
            {"batch", "N", "100", "Articles per request"},
            {"in-flight", "N", "4", "Requests awaiting an answer at once"},
        },
        "ingest's CURVE public key (or its .pub file); with --curve-key: encrypted, "
        "authenticated publishing")};

int RunPublishCommand(const ParsedArgs& args, CommandIo& io) {
  PublishOptions options;
  options.endpoint = args.Get("to");
  absl::StatusOr<absl::Duration> timeout = args.GetSeconds("timeout");
  absl::StatusOr<int64_t> batch = args.GetInt("batch");
  absl::StatusOr<int64_t> in_flight = args.GetInt("in-flight");
  for (const absl::Status& status : {timeout.status(), batch.status(), in_flight.status()}) {
    if (!status.ok()) return Fail(io, "publish", status);
  }
  if (*timeout <= absl::ZeroDuration() || *batch < 1 || *in_flight < 1) {
    return Fail(io, "publish",
                absl::InvalidArgumentError("--timeout, --batch and --in-flight must be positive"));
  }
  options.timeout = *timeout;
  options.batch_size = static_cast<int>(std::min<int64_t>(*batch, 100000));
  options.max_in_flight = static_cast<int>(std::min<int64_t>(*in_flight, 1000));
  options.show_progress = io.use_signals && isatty(STDERR_FILENO) == 1;
  absl::StatusOr<curve::ClientOptions> curve = CurveClientOptions(args);
  if (!curve.ok()) return Fail(io, "publish", curve.status());
  options.curve = *std::move(curve);

  absl::StatusOr<std::vector<SourcedArticle>> articles = ReadAllArticles(args.positional(), io.in);
  if (!articles.ok()) return Fail(io, "publish", articles.status());
  if (articles->empty()) {
    return Fail(io, "publish", absl::InvalidArgumentError("no articles in the input"));
  }
  std::optional<Shutdown> shutdown;
  absl::StatusOr<int> fd = ShutdownFd(io, shutdown);
  if (!fd.ok()) return Fail(io, "publish", fd.status());
  zmq::context_t context(1);
  absl::StatusOr<PublishSummary> summary = Publish(context, options, *articles, *fd, io.err);
  if (!summary.ok()) return Fail(io, "publish", summary.status());
  PrintSummary(*summary, io.out);
  return PublishExitCode(*summary);
}

}  // namespace

const Command& PublishCommand() {
  static const Command* const command = new Command{kPublish, RunPublishCommand};
  return *command;
}

}  // namespace topicwire::cli
