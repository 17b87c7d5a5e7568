#include "cli/deadletters.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/zmq_channel.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace topicwire::cli {

absl::StatusOr<v1::AdminReply> AskIngestAdmin(zmq::context_t& context,
                                              const DeadLettersOptions& options,
                                              const v1::AdminRequest& request) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  if (absl::Status status = ConfigureSocket(socket, 0); !status.ok()) return status;
  if (absl::Status status = curve::ApplyClientOptions(socket, options.curve); !status.ok()) {
    return status;
  }
  if (absl::Status status = Connect(socket, options.admin_endpoint); !status.ok()) return status;
  if (absl::Status status = SendProto(socket, request); !status.ok()) return status;
  std::vector<zmq::pollitem_t> items = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
  absl::StatusOr<int> ready = Poll(items, options.timeout);
  if (!ready.ok()) return ready.status();
  if (*ready == 0) {
    return absl::UnavailableError(absl::StrCat(
        "no answer from ingest's admin endpoint ", options.admin_endpoint, " within ",
        absl::FormatDuration(options.timeout), " (is ingest running? see its --admin_endpoint)"));
  }
  Frames frames;
  absl::StatusOr<bool> got = RecvFrames(socket, frames, /*dont_wait=*/true);
  if (!got.ok()) return got.status();
  v1::AdminReply reply;
  if (!*got || frames.empty() || !ParseFrame(frames.back(), reply).ok()) {
    return absl::UnavailableError(
        absl::StrCat("the answer from ", options.admin_endpoint, " is not an AdminReply"));
  }
  if (!reply.error().empty()) {
    return absl::FailedPreconditionError(absl::StrCat("ingest: ", reply.error()));
  }
  return reply;
}

void PrintDeadLetters(const v1::DeadLetterListReply& list, OutputFormat format, std::ostream& out) {
  for (const v1::DeadLetter& letter : list.dead_letters()) {
    if (format == OutputFormat::kJson) {
      std::string json;
      (void)google::protobuf::util::MessageToJsonString(letter, &json);
      out << json << "\n";
      continue;
    }
    out << letter.id() << "\t" << letter.attempts() << " attempts\tlast "
        << google::protobuf::util::TimeUtil::ToString(letter.last_attempt()) << "\t"
        << letter.title() << "\t(" << letter.last_reason() << ")\n";
  }
}

namespace {

const CommandSpec& DeadLettersSpec() {
  static const CommandSpec* const spec = new CommandSpec{
      .name = "deadletters",
      .arguments = "list | replay [--all | ID...]",
      .brief = "List or re-send articles set aside after too many failed attempts",
      .summary =
          "Articles a worker failed on --max_attempts times (ingest's flag) are set aside\n"
          "as dead letters, never dropped. 'list' prints them (json: one DeadLetter JSON\n"
          "mapping per line); 'replay ID...' or 'replay --all' sends them through the\n"
          "pipeline again with a fresh attempt budget. Both go a page per request, so\n"
          "ingest keeps serving publishers meanwhile; --limit stops after N. Exit 0 on\n"
          "success, 1 when a replayed id is not a dead letter, 2 on bad arguments or no\n"
          "answer from ingest.",
      .flags = WithCurveClientFlags(
          {
              {"admin", "ENDPOINT", "tcp://127.0.0.1:7409", "ingest's admin endpoint"},
              {"format", "json|text", "text", "list: json or one short line per dead letter"},
              {"all", "", "false", "replay: every dead letter", true},
              {"limit", "N", "0", "list, replay --all: at most N dead letters (0: all)"},
              {"page-size", "N", "1000",
               "Dead letters per request to ingest (ingest caps it at its maximum)"},
              {"timeout", "SECONDS", "5", "Give up when ingest does not answer for this long"},
          },
          "ingest's CURVE public key (or its .pub file) when its admin endpoint is secured; "
          "with --curve-key, whose public key must be in ingest's --curve_admin_allow")};
  return *spec;
}

// The page size of the next request when `done` of `options.limit` dead letters are done.
uint32_t NextPageSize(const DeadLettersOptions& options, int64_t done) {
  if (options.limit == 0) return options.page_size;
  return static_cast<uint32_t>(std::min<int64_t>(options.page_size, options.limit - done));
}

bool LimitReached(const DeadLettersOptions& options, int64_t done) {
  return options.limit > 0 && done >= options.limit;
}

// Lists every dead letter (up to --limit), a page per request, printing each page as it comes.
int ListAllPages(zmq::context_t& context, const DeadLettersOptions& options, OutputFormat format,
                 CommandIo& io) {
  v1::AdminRequest request;
  int64_t listed = 0;
  uint64_t total = 0;
  uint64_t after_seq = 0;
  do {
    request.mutable_list_dead_letters()->set_page_size(NextPageSize(options, listed));
    request.mutable_list_dead_letters()->set_after_seq(after_seq);
    absl::StatusOr<v1::AdminReply> reply = AskIngestAdmin(context, options, request);
    if (!reply.ok()) return Fail(io, "deadletters", reply.status());
    const v1::DeadLetterListReply& page = reply->list_dead_letters();
    PrintDeadLetters(page, format, io.out);
    listed += page.dead_letters_size();
    if (after_seq == 0) total = page.total();
    after_seq = page.next_after_seq();
    // An ingest that does not page answers everything at once, without a next page.
    if (page.dead_letters_size() == 0) break;
  } while (after_seq != 0 && !LimitReached(options, listed));
  io.err << listed << " dead letter(s)";
  if (static_cast<uint64_t>(listed) < total) io.err << " of " << total;
  io.err << "\n";
  return kExitOk;
}

// Replays every dead letter (up to --limit), a page per request.
int ReplayAllPages(zmq::context_t& context, const DeadLettersOptions& options, CommandIo& io) {
  v1::AdminRequest request;
  request.mutable_replay_dead_letters()->set_all(true);
  int64_t replayed = 0;
  uint64_t after_seq = 0;
  do {
    request.mutable_replay_dead_letters()->set_page_size(NextPageSize(options, replayed));
    request.mutable_replay_dead_letters()->set_after_seq(after_seq);
    absl::StatusOr<v1::AdminReply> reply = AskIngestAdmin(context, options, request);
    if (!reply.ok()) {
      io.out << "replayed " << replayed << "\n";
      return Fail(io, "deadletters", reply.status());
    }
    const v1::DeadLetterReplayReply& page = reply->replay_dead_letters();
    replayed += page.replayed();
    after_seq = page.next_after_seq();
    if (page.replayed() == 0) break;
  } while (after_seq != 0 && !LimitReached(options, replayed));
  io.out << "replayed " << replayed << "\n";
  return kExitOk;
}

// Replays the dead letters with these ids, a page of ids per request.
int ReplayIds(zmq::context_t& context, const DeadLettersOptions& options,
              const std::vector<std::string>& ids, CommandIo& io) {
  int64_t replayed = 0;
  std::vector<std::string> unknown;
  for (size_t start = 0; start < ids.size(); start += options.page_size) {
    v1::AdminRequest request;
    const size_t end = std::min(ids.size(), start + options.page_size);
    for (size_t i = start; i < end; ++i) request.mutable_replay_dead_letters()->add_ids(ids[i]);
    absl::StatusOr<v1::AdminReply> reply = AskIngestAdmin(context, options, request);
    if (!reply.ok()) {
      io.out << "replayed " << replayed << "\n";
      return Fail(io, "deadletters", reply.status());
    }
    replayed += reply->replay_dead_letters().replayed();
    for (const std::string& id : reply->replay_dead_letters().unknown_ids()) unknown.push_back(id);
  }
  io.out << "replayed " << replayed << "\n";
  for (const std::string& id : unknown) {
    io.err << "topicwire deadletters: '" << id << "' is not a dead letter\n";
  }
  return unknown.empty() ? kExitOk : kExitFailed;
}

int RunDeadLettersCommand(const ParsedArgs& args, CommandIo& io) {
  auto fail = [&io](const absl::Status& status) { return Fail(io, "deadletters", status); };
  const std::vector<std::string>& positional = args.positional();
  if (positional.empty() || (positional[0] != "list" && positional[0] != "replay")) {
    return fail(absl::InvalidArgumentError("say 'list' or 'replay' (see --help)"));
  }
  DeadLettersOptions options;
  options.admin_endpoint = args.Get("admin");
  absl::StatusOr<curve::ClientOptions> curve = CurveClientOptions(args);
  if (!curve.ok()) return fail(curve.status());
  options.curve = *std::move(curve);
  absl::StatusOr<absl::Duration> timeout = args.GetSeconds("timeout");
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(args.Get("format"));
  absl::StatusOr<bool> all = args.GetBool("all");
  absl::StatusOr<int64_t> limit = args.GetInt("limit");
  absl::StatusOr<int64_t> page_size = args.GetInt("page-size");
  for (const absl::Status& status :
       {timeout.status(), format.status(), all.status(), limit.status(), page_size.status()}) {
    if (!status.ok()) return fail(status);
  }
  if (*timeout <= absl::ZeroDuration()) {
    return fail(absl::InvalidArgumentError("--timeout must be positive"));
  }
  if (*limit < 0) return fail(absl::InvalidArgumentError("--limit must be 0 (none) or more"));
  if (*page_size < 1 || *page_size > 1'000'000) {
    return fail(absl::InvalidArgumentError("--page-size must be between 1 and 1000000"));
  }
  options.timeout = *timeout;
  options.limit = *limit;
  options.page_size = static_cast<uint32_t>(*page_size);
  const std::vector<std::string> ids(positional.begin() + 1, positional.end());
  zmq::context_t context(1);
  if (positional[0] == "list") {
    if (!ids.empty() || *all) {
      return fail(absl::InvalidArgumentError("'list' takes no ids and no --all"));
    }
    return ListAllPages(context, options, *format, io);
  }
  if (ids.empty() == !*all) {
    return fail(absl::InvalidArgumentError("'replay' needs either --all or article ids"));
  }
  if (*all) return ReplayAllPages(context, options, io);
  if (options.limit > 0) {
    return fail(absl::InvalidArgumentError("--limit goes with 'list' or 'replay --all'"));
  }
  return ReplayIds(context, options, ids, io);
}

}  // namespace

const Command& DeadLettersCommand() {
  static const Command* const command = new Command{DeadLettersSpec(), RunDeadLettersCommand};
  return *command;
}

}  // namespace topicwire::cli
