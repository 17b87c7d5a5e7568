#include "cli/deadletters.h"

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
          "pipeline again with a fresh attempt budget. Exit 0 on success, 1 when a replayed\n"
          "id is not a dead letter, 2 on bad arguments or no answer from ingest.",
      .flags = WithCurveClientFlags(
          {
              {"admin", "ENDPOINT", "tcp://127.0.0.1:7409", "ingest's admin endpoint"},
              {"format", "json|text", "text", "list: json or one short line per dead letter"},
              {"all", "", "false", "replay: every dead letter", true},
              {"timeout", "SECONDS", "5", "Give up when ingest does not answer for this long"},
          },
          "ingest's CURVE public key (or its .pub file) when its admin endpoint is secured; "
          "with --curve-key, whose public key must be in ingest's --curve_admin_allow")};
  return *spec;
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
  for (const absl::Status& status : {timeout.status(), format.status(), all.status()}) {
    if (!status.ok()) return fail(status);
  }
  if (*timeout <= absl::ZeroDuration()) {
    return fail(absl::InvalidArgumentError("--timeout must be positive"));
  }
  options.timeout = *timeout;
  const std::vector<std::string> ids(positional.begin() + 1, positional.end());
  v1::AdminRequest request;
  if (positional[0] == "list") {
    if (!ids.empty() || *all) {
      return fail(absl::InvalidArgumentError("'list' takes no ids and no --all"));
    }
    request.mutable_list_dead_letters();
  } else {
    if (ids.empty() == !*all) {
      return fail(absl::InvalidArgumentError("'replay' needs either --all or article ids"));
    }
    request.mutable_replay_dead_letters()->set_all(*all);
    for (const std::string& id : ids) request.mutable_replay_dead_letters()->add_ids(id);
  }
  zmq::context_t context(1);
  absl::StatusOr<v1::AdminReply> reply = AskIngestAdmin(context, options, request);
  if (!reply.ok()) return fail(reply.status());
  if (positional[0] == "list") {
    PrintDeadLetters(reply->list_dead_letters(), *format, io.out);
    io.err << reply->list_dead_letters().dead_letters_size() << " dead letter(s)\n";
    return kExitOk;
  }
  const v1::DeadLetterReplayReply& replayed = reply->replay_dead_letters();
  io.out << "replayed " << replayed.replayed() << "\n";
  for (const std::string& id : replayed.unknown_ids()) {
    io.err << "topicwire deadletters: '" << id << "' is not a dead letter\n";
  }
  return replayed.unknown_ids_size() > 0 ? kExitFailed : kExitOk;
}

}  // namespace

const Command& DeadLettersCommand() {
  static const Command* const command = new Command{DeadLettersSpec(), RunDeadLettersCommand};
  return *command;
}

}  // namespace topicwire::cli
