#include "cli/up.h"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <system_error>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/curve_keys.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/supervisor.h"
#include "common/zmq_channel.h"
#include "spdlog/spdlog.h"

namespace topicwire::cli {
namespace {

using topology::Endpoint;

// DIR/NAME, where `up --curve-dir DIR` keeps its keys and allow-lists.
std::string CurveFile(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

topology::PortPlan Ports(const UpOptions& options) {
  return topology::PortPlan(options.base_port, options.workers);
}

// Stage names of the stop groups, in the order they stop.
std::vector<std::vector<std::string>> StopOrder(const std::vector<topology::StageCommand>& stages) {
  // Stop in dependency order so that nothing accepted is lost, and little is redone: ingest
  // first (it stops taking input; everything it accepted is in its journal), then the workers
  // (they finish what they hold and push it to sink), then sink (it stores what reached it).
  // CommitAcks sink sends after ingest stopped only cost a redelivery on the next start, which
  // sink's idempotent store absorbs.
  std::vector<std::vector<std::string>> groups(3);
  for (const topology::StageCommand& stage : stages) {
    const int group = stage.stage == topology::Stage::kIngest     ? 0
                      : stage.stage == topology::Stage::kClassify ? 1
                                                                  : 2;
    groups[group].push_back(stage.name);
  }
  return groups;
}

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
        {"curve-dir", "DIR", "",
         "Run every hop with CurveZMQ, keys and allow-lists in DIR (generated when missing; "
         "clients use DIR/client); \"\": plaintext"},
    }};

int RunUpCommand(const ParsedArgs& args, CommandIo& io) {
  if (absl::Status status = NoArguments(args); !status.ok()) return Fail(io, "up", status);
  UpOptions options;
  options.data_dir = args.Get("data-dir");
  options.bind_host = args.Get("bind");
  options.bin_dir = args.Get("bin-dir");
  options.taxonomy = args.Get("taxonomy");
  options.log_level = args.Get("log-level");
  options.curve_dir = args.Get("curve-dir");
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
  if (*base_port < 1 ||
      *base_port + topology::PortPlan::PortCount(static_cast<int>(*workers)) > 65535) {
    return Fail(io, "up",
                absl::InvalidArgumentError(
                    absl::StrCat("--base-port ", *base_port, " leaves no room for ports P..P+",
                                 topology::PortPlan::PortCount(static_cast<int>(*workers)) - 1)));
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

}  // namespace

std::vector<topology::StageCommand> PlanStages(const UpOptions& options,
                                               const std::string& bin_dir) {
  topology::LaunchOptions launch{.ports = Ports(options),
                                 .bind_host = options.bind_host,
                                 .bin_dir = bin_dir,
                                 .data_dir = options.data_dir,
                                 .http = options.http,
                                 .log_level = options.log_level};
  if (!options.taxonomy.empty()) launch.classify_flags.push_back("--taxonomy=" + options.taxonomy);
  if (!options.curve_dir.empty()) {
    const auto file = [&](const std::string& name) { return CurveFile(options.curve_dir, name); };
    launch.ingest_flags = {"--curve_secret_key_file=" + file("ingest.key"),
                           "--curve_allow=" + file("clients.allow"),
                           "--curve_stage_allow=" + file("ingest-stages.allow"),
                           "--curve_admin_allow=" + file("admins.allow")};
    launch.sink_flags = {"--curve_secret_key_file=" + file("sink.key"),
                         "--curve_allow=" + file("clients.allow"),
                         "--curve_stage_allow=" + file("sink-stages.allow"),
                         "--curve_ingest_server_key=" + file("ingest.pub")};
    for (const std::string& flag : {"--curve_secret_key_file=" + file("classify.key"),
                                    "--curve_ingest_server_key=" + file("ingest.pub"),
                                    "--curve_sink_server_key=" + file("sink.pub")}) {
      launch.classify_flags.push_back(flag);
    }
  }
  return topology::PipelineCommands(launch);
}

absl::Status PrepareCurveDir(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  }
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, error);
  std::map<std::string, std::string> public_keys;
  for (const char* name : {"ingest", "sink", "classify", "client"}) {
    const std::string prefix = CurveFile(dir, name);
    if (!std::filesystem::exists(prefix + ".key")) {
      ASSIGN_OR_RETURN(const curve::KeyPair keys, curve::GenerateKeyPair());
      RETURN_IF_ERROR(curve::WriteKeyFiles(prefix, keys));
    }
    ASSIGN_OR_RETURN(const curve::KeyPair keys, curve::ReadKeyFile(prefix + ".key"));
    const std::string pub_line = absl::StrCat("public-key = \"", keys.public_key, "\"\n");
    if (!std::filesystem::exists(prefix + ".pub")) std::ofstream(prefix + ".pub") << pub_line;
    public_keys[name] = absl::StrCat("# ", name, "\n", pub_line);
  }
  const std::pair<const char*, std::string> allow_lists[] = {
      {"clients.allow", absl::StrCat("# client keys admitted on publish, stream and history\n",
                                     public_keys["client"])},
      {"admins.allow",
       absl::StrCat("# keys admitted on ingest's admin endpoint\n", public_keys["client"])},
      {"ingest-stages.allow", absl::StrCat("# stage keys admitted on ingest's work and commit\n",
                                           public_keys["classify"], public_keys["sink"])},
      {"sink-stages.allow",
       absl::StrCat("# stage keys admitted on sink's input\n", public_keys["classify"])},
  };
  for (const auto& [name, text] : allow_lists) {
    const std::string path = CurveFile(dir, name);
    if (std::filesystem::exists(path)) continue;
    std::ofstream file(path);
    file << text;
    if (!file.flush()) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

std::string DescribeEndpoints(const UpOptions& options) {
  const topology::PortPlan ports = Ports(options);
  const auto endpoint = [&](Endpoint which) {
    return topology::ConnectAddress(ports, which, options.bind_host);
  };
  // With CURVE, the exact client flags: the server's public key and the client's key pair.
  const auto keys = [&](const char* server) {
    if (options.curve_dir.empty()) return std::string();
    return absl::StrCat(" --curve-server-key ", CurveFile(options.curve_dir, server),
                        ".pub --curve-key ", CurveFile(options.curve_dir, "client"));
  };
  std::string text =
      absl::StrCat("publish    ", endpoint(Endpoint::kPublish), "   (topicwire publish --to ",
                   endpoint(Endpoint::kPublish), keys("ingest"), ")\n", "subscribe  ",
                   endpoint(Endpoint::kStream), "   (topicwire subscribe --from ",
                   endpoint(Endpoint::kStream), keys("sink"), ")\n", "history    ",
                   endpoint(Endpoint::kHistory), "   (topicwire subscribe --since)\n");
  if (options.http) {
    absl::StrAppend(&text, "metrics    ", endpoint(Endpoint::kIngestHttp),
                    "/metrics (ingest), :", ports.Port(Endpoint::kSinkHttp),
                    " (sink), :", ports.Port(Endpoint::kWorkerHttp), "+i (classify-i)\n");
  }
  absl::StrAppend(&text, "admin      ", endpoint(Endpoint::kAdmin),
                  "   (topicwire deadletters --admin ", endpoint(Endpoint::kAdmin), keys("ingest"),
                  ")\n");
  if (!options.curve_dir.empty()) {
    absl::StrAppend(&text, "curve      every hop uses CurveZMQ; keys in ", options.curve_dir,
                    " (admit another client: add its .pub to clients.allow, reloaded at once)\n");
  }
  absl::StrAppend(&text, "data       ", options.data_dir, "  (logs in ",
                  (std::filesystem::path(options.data_dir) / "logs").string(), ")\n");
  return text;
}

absl::Status RunUp(const UpOptions& options, int shutdown_fd, std::ostream& out) {
  std::string bin_dir = options.bin_dir;
  if (bin_dir.empty()) {
    ASSIGN_OR_RETURN(bin_dir, ExecutableDir());
  }
  for (topology::Stage stage :
       {topology::Stage::kIngest, topology::Stage::kClassify, topology::Stage::kSink}) {
    const std::filesystem::path path =
        std::filesystem::path(bin_dir) / std::string(topology::StageBinary(stage));
    if (access(path.c_str(), X_OK) != 0) {
      return absl::NotFoundError(absl::StrCat("cannot find the ", topology::StageBinary(stage),
                                              " binary at ", path.string(),
                                              " (build it, or pass --bin-dir)"));
    }
  }
  if (!options.curve_dir.empty()) RETURN_IF_ERROR(PrepareCurveDir(options.curve_dir));
  for (const char* sub : {"ingest", "sink", "logs"}) {
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(options.data_dir) / sub, error);
    if (error) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", options.data_dir, "/", sub, ": ", error.message()));
    }
  }

  // The stages are not in the terminal's process group, so a hangup (terminal closed) must stop
  // them through `up` as SIGINT/SIGTERM do, instead of leaving them orphaned.
  sigset_t hangup;
  sigemptyset(&hangup);
  sigaddset(&hangup, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hangup, nullptr);
  const int hangup_fd = signalfd(-1, &hangup, SFD_CLOEXEC | SFD_NONBLOCK);
  absl::Cleanup close_hangup_fd = [hangup_fd] {
    if (hangup_fd >= 0) close(hangup_fd);
  };

  // Its own process group for each stage: a terminal's Ctrl-C reaches only `up`, which stops the
  // stages in order instead of all at once.
  Supervisor supervisor({.log_dir = (std::filesystem::path(options.data_dir) / "logs").string(),
                         .new_process_groups = true,
                         .restart = true,
                         .restart_backoff = options.restart_backoff,
                         .max_restart_backoff = options.max_restart_backoff});
  const std::vector<topology::StageCommand> stages = PlanStages(options, bin_dir);
  for (const topology::StageCommand& stage : stages) {
    (void)supervisor.Start(stage.name, stage.argv);  // a failure is logged and retried
  }
  out << DescribeEndpoints(options) << std::flush;
  spdlog::info("pipeline up: {} workers, base port {}; Ctrl-C stops it", options.workers,
               options.base_port);

  // Supervision: notice children that died and start them again after their backoff.
  while (true) {
    std::vector<zmq::pollitem_t> items = {{nullptr, shutdown_fd, ZMQ_POLLIN, 0},
                                          {nullptr, hangup_fd, ZMQ_POLLIN, 0}};
    ASSIGN_OR_RETURN(int ready, topicwire::Poll(items, absl::Milliseconds(100)));
    if (ready > 0 && ((items[0].revents | items[1].revents) & ZMQ_POLLIN)) break;
    (void)supervisor.Poll();  // it logs each exit and restart
  }

  spdlog::info("stopping: ingest, then workers, then sink");
  (void)supervisor.StopInOrder(StopOrder(stages), options.stop_timeout);
  spdlog::info("all stages stopped");
  return absl::OkStatus();
}

const Command& UpCommand() {
  static const Command* const command = new Command{kUp, RunUpCommand};
  return *command;
}

}  // namespace topicwire::cli
