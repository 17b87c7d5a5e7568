#include "common/topology.h"

#include <cassert>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace topicwire::topology {

absl::string_view StageBinary(Stage stage) {
  switch (stage) {
    case Stage::kIngest:
      return "ingest";
    case Stage::kClassify:
      return "classify";
    case Stage::kSink:
      return "sink";
  }
  return "";
}

absl::string_view SocketName(Socket socket) {
  switch (socket) {
    case Socket::kRouter:
      return "ROUTER";
    case Socket::kDealer:
      return "DEALER";
    case Socket::kPub:
      return "PUB";
    case Socket::kSub:
      return "SUB";
    case Socket::kPush:
      return "PUSH";
    case Socket::kPull:
      return "PULL";
    case Socket::kHttp:
      return "HTTP";
  }
  return "";
}

const std::vector<EndpointSpec>& Endpoints() {
  using enum Endpoint;
  using enum Socket;
  constexpr std::optional<Stage> kNoPeer;
  static const std::vector<EndpointSpec>* const endpoints = new std::vector<EndpointSpec>{
      {kPublish, "publish", 0, Stage::kIngest, kRouter, "publish_endpoint", kNoPeer, kDealer, ""},
      {kStream, "stream", 1, Stage::kSink, kPub, "stream_endpoint", kNoPeer, kSub, ""},
      {kHistory, "history", 2, Stage::kSink, kRouter, "history_endpoint", kNoPeer, kDealer, ""},
      {kWork, "work", 3, Stage::kIngest, kRouter, "work_endpoint", Stage::kClassify, kDealer,
       "work_endpoint", /*loopback_only=*/false, /*internal=*/true},
      {kSinkInput, "input", 4, Stage::kSink, kPull, "input_endpoint", Stage::kClassify, kPush,
       "sink_endpoint", /*loopback_only=*/false, /*internal=*/true},
      {kCommit, "commit", 5, Stage::kIngest, kPull, "commit_endpoint", Stage::kSink, kPush,
       "commit_endpoint", /*loopback_only=*/false, /*internal=*/true},
      {kIngestHttp, "http", 6, Stage::kIngest, kHttp, "http_listen", kNoPeer, kHttp, ""},
      {kSinkHttp, "http", 7, Stage::kSink, kHttp, "http_listen", kNoPeer, kHttp, ""},
      {kPodWorkerHttp, "http", 8, Stage::kClassify, kHttp, "http_listen", kNoPeer, kHttp, ""},
      {kAdmin, "admin", 9, Stage::kIngest, kRouter, "admin_endpoint", kNoPeer, kDealer, "",
       /*loopback_only=*/true},
      {kWorkerHttp, "http", 10, Stage::kClassify, kHttp, "http_listen", kNoPeer, kHttp, ""},
  };
  return *endpoints;
}

const EndpointSpec& Spec(Endpoint endpoint) {
  const EndpointSpec& spec = Endpoints()[static_cast<size_t>(endpoint)];
  assert(spec.endpoint == endpoint);  // Endpoints() is in enum order
  return spec;
}

absl::StatusOr<PortPlan> PortPlan::Create(int base_port, int workers) {
  if (workers < 0 || workers > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("the number of classify workers must be 0..64, not ", workers));
  }
  if (base_port < 1 || base_port + PortCount(workers) - 1 > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "base port ", base_port, " leaves no room for ports P..P+", PortCount(workers) - 1));
  }
  return PortPlan(base_port, workers);
}

PortPlan::PortPlan(int base_port, int workers) : base_port_(base_port), workers_(workers) {}

int PortPlan::Port(Endpoint endpoint, int worker) const {
  return base_port_ + Spec(endpoint).offset + (endpoint == Endpoint::kWorkerHttp ? worker : 0);
}

int PortPlan::PortCount(int workers) { return Spec(Endpoint::kWorkerHttp).offset + workers; }

std::string ConnectHost(absl::string_view bind_host) {
  if (bind_host == "0.0.0.0" || bind_host == "*") return "127.0.0.1";
  return std::string(bind_host);
}

std::string BindAddress(const PortPlan& plan, Endpoint endpoint, absl::string_view bind_host,
                        int worker) {
  const EndpointSpec& spec = Spec(endpoint);
  const int port = plan.Port(endpoint, worker);
  if (spec.bind_socket == Socket::kHttp) {
    return absl::StrCat(bind_host == "*" ? "0.0.0.0" : bind_host, ":", port);
  }
  return absl::StrCat("tcp://", spec.loopback_only || spec.internal ? "127.0.0.1" : bind_host, ":",
                      port);
}

std::string ConnectAddress(const PortPlan& plan, Endpoint endpoint, absl::string_view bind_host,
                           int worker) {
  const EndpointSpec& spec = Spec(endpoint);
  const std::string host =
      spec.loopback_only || spec.internal ? "127.0.0.1" : ConnectHost(bind_host);
  return absl::StrCat(spec.bind_socket == Socket::kHttp ? "http://" : "tcp://", host, ":",
                      plan.Port(endpoint, worker));
}

std::string StageName(Stage stage, int worker) {
  if (stage == Stage::kClassify) return absl::StrCat("classify-", worker);
  return std::string(StageBinary(stage));
}

std::optional<Stage> StageOf(absl::string_view name) {
  if (name == "ingest") return Stage::kIngest;
  if (name == "sink") return Stage::kSink;
  int worker = 0;
  if (absl::ConsumePrefix(&name, "classify-") && absl::SimpleAtoi(name, &worker) && worker >= 0) {
    return Stage::kClassify;
  }
  return std::nullopt;
}

std::string JournalPath(absl::string_view data_dir) {
  return (std::filesystem::path(std::string(data_dir)) / "ingest" / "journal.db").string();
}

std::string StorePath(absl::string_view data_dir) {
  return (std::filesystem::path(std::string(data_dir)) / "sink" / "store.db").string();
}

namespace {

// A stage's command line from the endpoint table: what it binds, then what it connects to,
// then `data_flag`, the shared flags and `extra`.
StageCommand Command(const LaunchOptions& options, Stage stage, int worker,
                     const std::string& data_flag, const std::vector<std::string>& extra) {
  StageCommand command{
      .name = StageName(stage, worker), .stage = stage, .worker = worker, .argv = {}};
  command.argv.push_back(
      (std::filesystem::path(options.bin_dir) / std::string(StageBinary(stage))).string());
  std::string http_listen;
  for (const EndpointSpec& spec : Endpoints()) {
    if (spec.owner != stage) continue;
    if (spec.bind_socket != Socket::kHttp) {
      command.argv.push_back(
          absl::StrCat("--", spec.bind_flag, "=",
                       BindAddress(options.ports, spec.endpoint, options.bind_host, worker)));
    } else if (options.http && spec.endpoint != Endpoint::kPodWorkerHttp) {
      http_listen =
          absl::StrCat("--", spec.bind_flag, "=",
                       BindAddress(options.ports, spec.endpoint, options.bind_host, worker));
    }
  }
  for (const EndpointSpec& spec : Endpoints()) {
    if (spec.peer != stage) continue;
    command.argv.push_back(
        absl::StrCat("--", spec.connect_flag, "=",
                     ConnectAddress(options.ports, spec.endpoint, options.bind_host, worker)));
  }
  if (!data_flag.empty()) command.argv.push_back(data_flag);
  if (!options.log_level.empty()) command.argv.push_back("--log_level=" + options.log_level);
  if (!http_listen.empty()) command.argv.push_back(http_listen);
  command.argv.insert(command.argv.end(), extra.begin(), extra.end());
  return command;
}

}  // namespace

StageCommand IngestCommand(const LaunchOptions& options) {
  return Command(options, Stage::kIngest, 0, "--journal=" + JournalPath(options.data_dir),
                 options.ingest_flags);
}

StageCommand SinkCommand(const LaunchOptions& options) {
  return Command(options, Stage::kSink, 0, "--store=" + StorePath(options.data_dir),
                 options.sink_flags);
}

StageCommand WorkerCommand(const LaunchOptions& options, int worker) {
  return Command(options, Stage::kClassify, worker, "", options.classify_flags);
}

std::vector<StageCommand> PipelineCommands(const LaunchOptions& options) {
  std::vector<StageCommand> commands = {IngestCommand(options), SinkCommand(options)};
  for (int i = 0; i < options.ports.workers(); ++i) commands.push_back(WorkerCommand(options, i));
  return commands;
}

}  // namespace topicwire::topology
