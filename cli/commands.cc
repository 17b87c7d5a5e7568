#include "cli/commands.h"

#include <unistd.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/article_reader.h"
#include "cli/bench.h"
#include "cli/deadletters.h"
#include "cli/keygen.h"
#include "cli/output.h"
#include "cli/publish.h"
#include "cli/subscribe.h"
#include "cli/tag.h"
#include "cli/up.h"
#include "common/logging.h"
#include "google/protobuf/util/json_util.h"
#include "common/shutdown.h"
#include "zmq.hpp"

namespace topicwire::cli {
namespace {

const CommandSpec kUp = {
    .name = "up",
    .arguments = "",
    .brief = "Run ingest, classify workers and sink on this machine",
    .summary =
        "Runs a whole pipeline on this machine: ingest, N classify workers and sink as\n"
        "child processes. Restarts a stage that dies; Ctrl-C stops ingest, then the\n"
        "workers, then sink, and exits 0.",
    .flags = {
        {"data-dir", "DIR", "topicwire-data", "Journal, store and logs/<stage>.log live here"},
        {"workers", "N", "2", "Number of classify workers"},
        {"base-port", "P", "7400",
         "Ports P..P+5 (publish, stream, history, work, sink input, commit), HTTP P+6, P+7, "
         "P+10+i; ingest admin P+9"},
        {"bind", "HOST", "127.0.0.1", "Address the stages bind (0.0.0.0: every interface)"},
        {"bin-dir", "DIR", "",
         "Where the ingest/classify/sink binaries are (\"\": beside topicwire)"},
        {"taxonomy", "FILE", "", "Taxonomy for the workers (\"\": classify's bundled default)"},
        {"log-level", "LEVEL", "info", "--log_level for every stage"},
        {"http", "", "true", "Serve /healthz /readyz /metrics on ports P+6 and up", true},
        {"stop-timeout", "SECONDS", "10", "How long a stage may take to stop before SIGKILL"},
    }};

const CommandSpec kPublish = {
    .name = "publish",
    .arguments = "[FILE... | -]",
    .brief = "Send articles (JSON, JSON Lines, text, Markdown) to ingest",
    .summary =
        "Publishes articles to ingest. Reads JSON (an Article or an array), JSON Lines\n"
        "(*.jsonl) and plain text or Markdown (*.txt, *.md: first line is the title);\n"
        "'-' or no FILE reads standard input. Exit 0: all accepted or duplicate;\n"
        "1: something was rejected; 2: bad input or no answer from ingest.",
    .flags = {
        {"to", "ENDPOINT", "tcp://127.0.0.1:7400", "ingest's publish endpoint"},
        {"timeout", "SECONDS", "10", "Give up when ingest does not answer for this long"},
        {"batch", "N", "100", "Articles per request"},
        {"in-flight", "N", "4", "Requests awaiting an answer at once"},
        {"curve-server-key", "KEY|FILE", "",
         "ingest's CURVE public key (or its .pub file); with --curve-key: encrypted, "
         "authenticated publishing"},
        {"curve-key", "PREFIX", "", "This client's key files from topicwire keygen (PREFIX.key)"},
    }};

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
    .flags = {
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
         "Fill holes in a live stream (messages dropped while this subscriber fell behind) from "
         "history and report them to sink's metrics; --fill-gaps=false only reports them",
         true},
        {"curve-server-key", "KEY|FILE", "",
         "sink's CURVE public key (or its .pub file); with --curve-key: encrypted, "
         "authenticated streams and history"},
        {"curve-key", "PREFIX", "", "This client's key files from topicwire keygen (PREFIX.key)"},
    }};

const CommandSpec kKeygen = {
    .name = "keygen",
    .arguments = "",
    .brief = "Create a CurveZMQ key pair (PREFIX.key, PREFIX.pub)",
    .summary =
        "Creates a CurveZMQ key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub\n"
        "(public), and prints the public key. A stage takes its PREFIX.key as\n"
        "--curve_secret_key_file and admits the clients whose public keys are listed\n"
        "in --curve_allow (bare keys or .pub files' lines); a client passes its\n"
        "PREFIX as --curve-key and the server's .pub as --curve-server-key.",
    .flags = {
        {"out", "PREFIX", "topicwire", "Write PREFIX.key and PREFIX.pub (never overwrites)"},
    }};

const CommandSpec kTag = {
    .name = "tag",
    .arguments = "[FILE... | -]",
    .brief = "Tag articles offline with the taxonomy, no pipeline needed",
    .summary =
        "Tags articles offline with the taxonomy (no sockets) and prints one line per\n"
        "article: the TaggedArticle JSON mapping, IPTC ninjs 3.x, or a short text line.\n"
        "--explain prints, for people, why each tag was given: every matched term, where\n"
        "(title/body, byte offsets) and what it added to the score.",
    .flags = {
        {"taxonomy", "FILE", "", "Taxonomy file (\"\": classify's bundled default)"},
        {"format", "json|text|ninjs", "json", "Output format"},
        {"explain", "", "false", "Explain every tag (evidence and score) instead of --format",
         true},
    }};

const CommandSpec kTaxonomy = {
    .name = "taxonomy",
    .arguments = "lint FILE | test FILE GOLDEN.jsonl...",
    .brief = "Check a taxonomy file (lint) or run golden cases against it (test)",
    .summary =
        "lint FILE: prints every problem with file, line and term (unknown fields,\n"
        "duplicate terms, patterns Vectorscan cannot compile, topics without labels in\n"
        "both languages or without an IPTC parent); exit 1 on any.\n"
        "test FILE GOLDEN.jsonl...: each golden line is an Article's JSON plus \"expect\"\n"
        "and \"absent\" lists of topic ids; prints a diff for each failing case; exit 1\n"
        "on any failure. FILE \"default\" means classify's bundled taxonomy.",
    .flags = {}};

const CommandSpec kEval = {
    .name = "eval",
    .arguments = "LABELLED.jsonl...",
    .brief = "Measure the taxonomy on labelled articles (precision, recall, F1)",
    .summary =
        "Measures the taxonomy on labelled articles (JSON Lines with a 'labels' list):\n"
        "per-topic precision, recall and F1, micro and macro F1.",
    .flags = {
        {"taxonomy", "FILE", "", "Taxonomy file (\"\": classify's bundled default)"},
        {"json", "", "false", "Print the report as JSON", true},
        {"min-macro-f1", "X", "0", "Exit 1 when macro-F1 is below X"},
    }};

const CommandSpec kBench = {
    .name = "bench",
    .arguments = "",
    .brief = "Measure throughput, latency and stage resources against the passthrough limit",
    .summary =
        "Starts the real stages (or uses a running pipeline: --to and --from), publishes\n"
        "synthetic articles as fast as they are accepted, then at --rate and at half the\n"
        "maximum, subscribes at the far end, and reports throughput, latency percentiles,\n"
        "each stage's CPU time and peak memory, and the ratio to the passthrough limit:\n"
        "the same ZeroMQ hops and protobuf encode/decode without journal, tagging or store.",
    .flags = {
        {"count", "N", "20000", "Articles per run"},
        {"size", "BYTES", "3300", "Approximate size of each article"},
        {"mix", "news|dense", "news",
         "Article text: news prose (~0.84 tags each) or dense technology words (~6 tags)"},
        {"rate", "R", "10000", "Articles per second of the first latency run"},
        {"workers", "N", "2", "Classify workers to start"},
        {"base-port", "P", "7450", "Ports for the stages bench starts (layout as in up)"},
        {"data-dir", "DIR", "", "Journal, store and logs (\"\": a temporary directory)"},
        {"bin-dir", "DIR", "", "Where the stage binaries are (\"\": beside topicwire)"},
        {"to", "ENDPOINT", "", "Measure a running pipeline: ingest's publish endpoint"},
        {"from", "ENDPOINT", "", "... and sink's stream endpoint"},
        {"fsync", "", "true", "Durable journal and store (--fsync=false: faster, unsafe)", true},
        {"passthrough", "", "true", "Also measure the passthrough limit", true},
        {"json", "", "false", "Print one JSON object (BenchReport in proto/bench.proto)", true},
    }};

std::string TopLevelUsage() {
  std::string text =
      "usage: topicwire COMMAND [flags] [args]\n\n"
      "topicwire tags news and technology articles with topics and streams them to "
      "subscribers.\n\ncommands:\n";
  for (const CommandSpec& spec : AllCommands()) {
    absl::StrAppend(&text, "  ", spec.name, std::string(12 - spec.name.size(), ' '), spec.brief,
                    "\n");
  }
  absl::StrAppend(&text, "\n'topicwire COMMAND --help' lists the command's flags.\n");
  return text;
}

int Fail(CommandIo& io, const std::string& command, const absl::Status& status,
         int code = kExitUsage) {
  io.err << "topicwire " << command << ": " << status.message() << "\n";
  return code;
}

// Turns SIGINT/SIGTERM into a shutdown fd when running for real.
absl::StatusOr<int> ShutdownFd(CommandIo& io, std::optional<Shutdown>& holder) {
  if (!io.use_signals) return io.shutdown_fd;
  absl::StatusOr<Shutdown> shutdown = Shutdown::FromSignals();
  if (!shutdown.ok()) return shutdown.status();
  holder.emplace(std::move(*shutdown));
  return holder->fd();
}

absl::StatusOr<std::vector<SourcedArticle>> ReadAll(const std::vector<std::string>& paths,
                                                    std::istream& in) {
  std::vector<std::string> inputs = paths;
  if (inputs.empty()) inputs.push_back("-");
  std::vector<SourcedArticle> all;
  for (const std::string& path : inputs) {
    absl::StatusOr<std::vector<SourcedArticle>> articles = ReadArticles(path, in);
    if (!articles.ok()) return articles.status();
    for (SourcedArticle& article : *articles) all.push_back(std::move(article));
  }
  return all;
}

int RunUpCommand(const ParsedArgs& args, CommandIo& io) {
  if (!args.positional().empty()) {
    return Fail(io, "up",
                absl::InvalidArgumentError(
                    absl::StrCat("takes no arguments, got '", args.positional()[0], "'")));
  }
  UpOptions options;
  options.data_dir = args.Get("data-dir");
  options.bind_host = args.Get("bind");
  options.bin_dir = args.Get("bin-dir");
  options.taxonomy = args.Get("taxonomy");
  options.log_level = args.Get("log-level");
  absl::StatusOr<int64_t> workers = args.GetInt("workers");
  absl::StatusOr<int64_t> base_port = args.GetInt("base-port");
  absl::StatusOr<bool> http = args.GetBool("http");
  absl::StatusOr<absl::Duration> stop_timeout = args.GetSeconds("stop-timeout");
  for (const absl::Status& status :
       {workers.status(), base_port.status(), http.status(), stop_timeout.status()}) {
    if (!status.ok()) return Fail(io, "up", status);
  }
  if (*workers < 1 || *workers > 64) {
    return Fail(io, "up", absl::InvalidArgumentError("--workers must be between 1 and 64"));
  }
  if (*base_port < 1 || *base_port + 10 + *workers > 65535) {
    return Fail(
        io, "up",
        absl::InvalidArgumentError(absl::StrCat(
            "--base-port ", *base_port, " leaves no room for ports P..P+", 10 + *workers - 1)));
  }
  options.workers = static_cast<int>(*workers);
  options.base_port = static_cast<int>(*base_port);
  options.http = *http;
  options.stop_timeout = *stop_timeout;
  if (absl::Status logging = InitLogging("up", "info"); !logging.ok()) {
    return Fail(io, "up", logging);
  }
  std::optional<Shutdown> shutdown;
  absl::StatusOr<int> fd = ShutdownFd(io, shutdown);
  if (!fd.ok()) return Fail(io, "up", fd.status(), kExitFailed);
  if (absl::Status status = RunUp(options, *fd, io.out); !status.ok()) {
    return Fail(io, "up", status);
  }
  return kExitOk;
}

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
  absl::StatusOr<curve::ClientOptions> curve =
      curve::LoadClientOptions(args.Get("curve-server-key"), args.Get("curve-key"));
  if (!curve.ok()) return Fail(io, "publish", curve.status());
  options.curve = *std::move(curve);

  absl::StatusOr<std::vector<SourcedArticle>> articles = ReadAll(args.positional(), io.in);
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

int RunSubscribeCommand(const ParsedArgs& args, CommandIo& io) {
  SubscribeOptions options;
  options.endpoint = args.Get("from");
  options.topics = args.positional();
  options.history_endpoint = args.Get("history");
  options.resume_file = args.Get("resume");
  absl::StatusOr<curve::ClientOptions> curve =
      curve::LoadClientOptions(args.Get("curve-server-key"), args.Get("curve-key"));
  if (!curve.ok()) return Fail(io, "subscribe", curve.status());
  options.curve = *std::move(curve);
  absl::StatusOr<int64_t> count = args.GetInt("count");
  absl::StatusOr<absl::Duration> timeout = args.GetSeconds("timeout");
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(args.Get("format"));
  absl::StatusOr<bool> fill_gaps = args.GetBool("fill-gaps");
  absl::StatusOr<int64_t> queue = args.GetInt("queue");
  for (const absl::Status& status : {count.status(), timeout.status(), format.status(),
                                     fill_gaps.status(), queue.status()}) {
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

int RunKeygenCommand(const ParsedArgs& args, CommandIo& io) {
  if (!args.positional().empty()) {
    return Fail(io, "keygen",
                absl::InvalidArgumentError(
                    absl::StrCat("takes no arguments, got '", args.positional()[0], "'")));
  }
  if (absl::Status status = Keygen(args.Get("out"), io.out, io.err); !status.ok()) {
    return Fail(io, "keygen", status, kExitFailed);
  }
  return kExitOk;
}

int RunTagCommand(const ParsedArgs& args, CommandIo& io) {
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(args.Get("format"));
  if (!format.ok()) return Fail(io, "tag", format.status());
  absl::StatusOr<std::vector<SourcedArticle>> articles = ReadAll(args.positional(), io.in);
  if (!articles.ok()) return Fail(io, "tag", articles.status());
  absl::StatusOr<bool> explain = args.GetBool("explain");
  if (!explain.ok()) return Fail(io, "tag", explain.status());
  if (absl::Status status =
          TagArticles(args.Get("taxonomy"), *articles, *format, io.out, *explain);
      !status.ok()) {
    return Fail(io, "tag", status);
  }
  return kExitOk;
}

int RunBenchCommand(const ParsedArgs& args, CommandIo& io) {
  BenchOptions options;
  absl::StatusOr<int64_t> count = args.GetInt("count");
  absl::StatusOr<int64_t> size = args.GetInt("size");
  absl::StatusOr<double> rate = args.GetDouble("rate");
  absl::StatusOr<int64_t> workers = args.GetInt("workers");
  absl::StatusOr<int64_t> base_port = args.GetInt("base-port");
  absl::StatusOr<bool> fsync = args.GetBool("fsync");
  absl::StatusOr<bool> passthrough = args.GetBool("passthrough");
  absl::StatusOr<bool> json = args.GetBool("json");
  absl::StatusOr<bench::ArticleMix> mix = bench::ParseArticleMix(args.Get("mix"));
  for (const absl::Status& status :
       {count.status(), size.status(), rate.status(), workers.status(), base_port.status(),
        fsync.status(), passthrough.status(), json.status(), mix.status()}) {
    if (!status.ok()) return Fail(io, "bench", status);
  }
  if (*workers < 1 || *workers > 64 || *base_port < 1 || *base_port + 10 + *workers > 65535) {
    return Fail(io, "bench",
                absl::InvalidArgumentError("--workers must be 1..64 and --base-port leave room "
                                           "for the stages' ports"));
  }
  if (args.Get("to").empty() != args.Get("from").empty()) {
    return Fail(io, "bench", absl::InvalidArgumentError("give both --to and --from, or neither"));
  }
  options.count = *count;
  options.article_bytes = *size;
  options.mix = *mix;
  options.rate = *rate;
  options.workers = static_cast<int>(*workers);
  options.base_port = static_cast<int>(*base_port);
  options.data_dir = args.Get("data-dir");
  options.bin_dir = args.Get("bin-dir");
  options.publish_endpoint = args.Get("to");
  options.stream_endpoint = args.Get("from");
  options.fsync = *fsync;
  options.passthrough = *passthrough;
  absl::StatusOr<v1::BenchReport> report = RunBench(options, io.err);
  if (!report.ok()) return Fail(io, "bench", report.status(), kExitFailed);
  if (*json) {
    std::string line;
    google::protobuf::util::JsonPrintOptions print;
    print.preserve_proto_field_names = true;
    print.always_print_primitive_fields = true;
    if (!google::protobuf::util::MessageToJsonString(*report, &line, print).ok()) {
      return Fail(io, "bench", absl::InternalError("cannot print the report as JSON"),
                  kExitFailed);
    }
    io.out << line << "\n";
  } else {
    io.out << FormatBenchReport(*report);
  }
  return kExitOk;
}

int RunEvalCommand(const ParsedArgs& args, CommandIo& io) {
  EvalOptions options;
  options.taxonomy_path = args.Get("taxonomy");
  absl::StatusOr<bool> json = args.GetBool("json");
  absl::StatusOr<double> min_f1 = args.GetDouble("min-macro-f1");
  for (const absl::Status& status : {json.status(), min_f1.status()}) {
    if (!status.ok()) return Fail(io, "eval", status);
  }
  options.json = *json;
  options.min_macro_f1 = *min_f1;
  if (args.positional().empty()) {
    return Fail(io, "eval", absl::InvalidArgumentError("give at least one LABELLED.jsonl file"));
  }
  absl::StatusOr<int> code = Evaluate(options, args.positional(), io.out, io.err);
  if (!code.ok()) return Fail(io, "eval", code.status());
  return *code;
}

}  // namespace

const std::vector<CommandSpec>& AllCommands() {
  static const std::vector<CommandSpec>* const commands = new std::vector<CommandSpec>{
      kUp, kPublish, kSubscribe, kTag, kEval, kTaxonomy, kKeygen, DeadLettersSpec(), kBench};
  return *commands;
}

int RunCli(const std::vector<std::string>& args, CommandIo io) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    if (args.size() >= 2 && args[0] == "help") return RunCli({args[1], "--help"}, io);
    (args.empty() ? io.err : io.out) << TopLevelUsage();
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "--version" || args[0] == "version") {
    io.out << "topicwire " << TOPICWIRE_VERSION << "\n";
    return kExitOk;
  }
  const CommandSpec* spec = nullptr;
  for (const CommandSpec& candidate : AllCommands()) {
    if (candidate.name == args[0]) spec = &candidate;
  }
  if (spec == nullptr) {
    io.err << "topicwire: unknown command '" << args[0] << "'\n\n" << TopLevelUsage();
    return kExitUsage;
  }
  absl::StatusOr<ParsedArgs> parsed =
      ParseArgs(*spec, std::vector<std::string>(args.begin() + 1, args.end()));
  if (!parsed.ok()) {
    io.err << parsed.status().message() << "\n";
    return kExitUsage;
  }
  if (parsed->help()) {
    io.out << Usage(*spec);
    return kExitOk;
  }
  if (spec->name == "up") return RunUpCommand(*parsed, io);
  if (spec->name == "publish") return RunPublishCommand(*parsed, io);
  if (spec->name == "subscribe") return RunSubscribeCommand(*parsed, io);
  if (spec->name == "tag") return RunTagCommand(*parsed, io);
  if (spec->name == "taxonomy") {
    return RunTaxonomyCommand(parsed->positional(), io.out, io.err);
  }
  if (spec->name == "keygen") return RunKeygenCommand(*parsed, io);
  if (spec->name == "deadletters") return RunDeadLettersCommand(*parsed, io);
  if (spec->name == "bench") return RunBenchCommand(*parsed, io);
  return RunEvalCommand(*parsed, io);
}

}  // namespace topicwire::cli
