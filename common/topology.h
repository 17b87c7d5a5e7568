// The pipeline's topology in one place: which endpoints exist, their ports from one base port,
// which stage binds each and which connects, and every stage's command line. `topicwire up`,
// `topicwire bench`, topicwire-chaos and the end-to-end tests start the stages from here, and
// tests/deploy/topology_agreement_test.cc checks docs/ARCHITECTURE.md and deploy/ against it.
#ifndef TOPICWIRE_COMMON_TOPOLOGY_H_
#define TOPICWIRE_COMMON_TOPOLOGY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace topicwire::topology {

// The three stage binaries.
enum class Stage { kIngest, kClassify, kSink };

// "ingest", "classify", "sink": the binary's name.
absl::string_view StageBinary(Stage stage);

// Every endpoint of the pipeline, in port order (docs/ARCHITECTURE.md, "Ports").
enum class Endpoint {
  kPublish,     // P    ingest ROUTER: PublishRequest -> PublishReply (public)
  kStream,      // P+1  sink PUB: topic streams (public)
  kHistory,     // P+2  sink ROUTER: history / replay (public; stream port + 1 by convention)
  kWork,        // P+3  ingest ROUTER: work hand-out to classify workers (DEALER)
  kSinkInput,   // P+4  sink PULL: Deliveries from classify workers (PUSH)
  kCommit,      // P+5  ingest PULL: CommitAcks from sink (PUSH)
  kIngestHttp,  // P+6  ingest /healthz /readyz /metrics
  kSinkHttp,    // P+7  sink /healthz /readyz /metrics
  // P+8: a classify worker's HTTP port where every worker has a network namespace of its own
  // (a container or a pod), so all of them can use the same port (deploy/).
  kPodWorkerHttp,
  kAdmin,       // P+9  ingest ROUTER on 127.0.0.1: dead letters (proto/admin.proto)
  kWorkerHttp,  // P+10+i  classify worker i's HTTP port when the workers share one host
};

// What sits on either side of an endpoint.
enum class Socket { kRouter, kDealer, kPub, kSub, kPush, kPull, kHttp };

// "ROUTER", "DEALER", "PUB", "SUB", "PUSH", "PULL", "HTTP".
absl::string_view SocketName(Socket socket);

// One endpoint: its port, who binds it with which socket and flag, and which stage (if any)
// connects to it with which socket and flag. Clients (publishers, subscribers, the CLI) are not
// stages and are not described here.
struct EndpointSpec {
  Endpoint endpoint;
  // The role `topicwire up` prints and the port's name in deploy/k8s ("publish", "work", ...).
  absl::string_view role;
  // Port = base port + offset (+ the worker's index for kWorkerHttp).
  int offset;
  // The stage that binds it, with this socket, given by this flag.
  Stage owner;
  Socket bind_socket;
  absl::string_view bind_flag;
  // The stage that connects to it, with this socket, given by this flag; none for endpoints
  // only clients and probes use.
  std::optional<Stage> peer;
  Socket connect_socket;
  absl::string_view connect_flag;
  // Bound on 127.0.0.1 whatever the bind host (the admin endpoint can replay dead letters).
  bool loopback_only = false;
  // An internal hop between stages (work, sink input, commit): no client has business there, so
  // a pipeline on one host (`topicwire up`, bench, chaos, tests: BindAddress below) binds it on
  // 127.0.0.1 whatever the bind host. Where the stages run on different hosts (deploy/), it is
  // bound on every interface and guarded by CURVE and deploy/k8s's NetworkPolicy.
  bool internal = false;
};

// Every endpoint, in port order.
const std::vector<EndpointSpec>& Endpoints();
// The spec of `endpoint`.
const EndpointSpec& Spec(Endpoint endpoint);

// The ports of one pipeline: base port P and the number of classify workers.
class PortPlan {
 public:
  // kInvalidArgument naming the problem when `workers` is not 1..64 or the ports P..P+10+workers-1
  // do not fit in 1..65535.
  static absl::StatusOr<PortPlan> Create(int base_port, int workers);
  // REQUIRES: the arguments are valid as Create() checks them.
  PortPlan(int base_port, int workers);

  int base_port() const { return base_port_; }
  int workers() const { return workers_; }
  // The port of `endpoint` (for kWorkerHttp, worker `worker`'s).
  int Port(Endpoint endpoint, int worker = 0) const;
  // How many consecutive ports from the base port the plan uses.
  int size() const { return PortCount(workers_); }
  // The same for `workers` workers: 10 + workers.
  static int PortCount(int workers);

 private:
  int base_port_;
  int workers_;
};

// The host to connect through for stages that bind `bind_host`: a wildcard ("0.0.0.0", "*") is
// not an address to connect to, so it becomes 127.0.0.1.
std::string ConnectHost(absl::string_view bind_host);

// What the owner binds: "tcp://HOST:PORT" (127.0.0.1 for loopback-only and internal endpoints),
// or for HTTP endpoints the "HOST:PORT" --http_listen takes ("*" becomes 0.0.0.0).
std::string BindAddress(const PortPlan& plan, Endpoint endpoint, absl::string_view bind_host,
                        int worker = 0);
// What a peer or client connects to: "tcp://HOST:PORT", or "http://HOST:PORT" for HTTP.
std::string ConnectAddress(const PortPlan& plan, Endpoint endpoint, absl::string_view bind_host,
                           int worker = 0);

// How to run the stages of one pipeline on one host.
struct LaunchOptions {
  // Ports of every endpoint.
  PortPlan ports{7400, 2};
  // Address the stages bind ("127.0.0.1", or "0.0.0.0" for every interface).
  std::string bind_host = "127.0.0.1";
  // Directory holding the ingest, classify and sink binaries.
  std::string bin_dir{};
  // The journal goes to DATA/ingest/journal.db, the store to DATA/sink/store.db.
  std::string data_dir{};
  // Serve /healthz /readyz /metrics (--http_listen) on the HTTP ports.
  bool http = true;
  // --log_level for every stage; empty: the stages' default (no flag).
  std::string log_level{};
  // Flags appended to each stage's standard ones (a later flag overrides an earlier one).
  std::vector<std::string> ingest_flags{};
  std::vector<std::string> sink_flags{};
  std::vector<std::string> classify_flags{};
};

// One stage process to run.
struct StageCommand {
  // "ingest", "sink", "classify-<i>": also the name of its log file.
  std::string name;
  Stage stage;
  // The worker's index for classify; 0 otherwise.
  int worker = 0;
  std::vector<std::string> argv;
};

// "ingest", "sink" or "classify-<worker>".
std::string StageName(Stage stage, int worker = 0);
// The stage a StageName() names; nullopt for any other name.
std::optional<Stage> StageOf(absl::string_view name);

// Where a pipeline under `data_dir` keeps its journal and its store.
std::string JournalPath(absl::string_view data_dir);
std::string StorePath(absl::string_view data_dir);

// The command line of each stage: binds for the endpoints it owns, connects for those it is the
// peer of, its data file, --log_level and --http_listen as the options say, then the extra flags.
StageCommand IngestCommand(const LaunchOptions& options);
StageCommand SinkCommand(const LaunchOptions& options);
StageCommand WorkerCommand(const LaunchOptions& options, int worker);
// Every stage in start order: ingest, sink, then the workers.
std::vector<StageCommand> PipelineCommands(const LaunchOptions& options);

}  // namespace topicwire::topology

#endif  // TOPICWIRE_COMMON_TOPOLOGY_H_
