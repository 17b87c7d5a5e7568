#include "common/topology.h"

#include <set>

#include "absl/strings/match.h"
#include "tests/testing/prelude.h"

namespace topicwire::topology {
namespace {

using namespace ::topicwire::testing::prelude;

TEST(TopologyTest, EndpointsAreInEnumAndPortOrderWithDistinctOffsets) {
  std::set<int> offsets;
  int previous = -1;
  for (size_t i = 0; i < Endpoints().size(); ++i) {
    const EndpointSpec& spec = Endpoints()[i];
    EXPECT_EQ(static_cast<size_t>(spec.endpoint), i);
    EXPECT_GT(spec.offset, previous) << spec.role;
    previous = spec.offset;
    EXPECT_TRUE(offsets.insert(spec.offset).second) << spec.role;
  }
  EXPECT_EQ(&Spec(Endpoint::kAdmin), &Endpoints()[static_cast<size_t>(Endpoint::kAdmin)]);
}

TEST(TopologyTest, PortPlanFollowsTheArchitectureTable) {
  const PortPlan plan(9000, 3);
  EXPECT_EQ(plan.Port(Endpoint::kPublish), 9000);
  EXPECT_EQ(plan.Port(Endpoint::kStream), 9001);
  EXPECT_EQ(plan.Port(Endpoint::kHistory), 9002);
  EXPECT_EQ(plan.Port(Endpoint::kWork), 9003);
  EXPECT_EQ(plan.Port(Endpoint::kSinkInput), 9004);
  EXPECT_EQ(plan.Port(Endpoint::kCommit), 9005);
  EXPECT_EQ(plan.Port(Endpoint::kIngestHttp), 9006);
  EXPECT_EQ(plan.Port(Endpoint::kSinkHttp), 9007);
  EXPECT_EQ(plan.Port(Endpoint::kPodWorkerHttp), 9008);
  EXPECT_EQ(plan.Port(Endpoint::kAdmin), 9009);
  EXPECT_EQ(plan.Port(Endpoint::kWorkerHttp, 0), 9010);
  EXPECT_EQ(plan.Port(Endpoint::kWorkerHttp, 2), 9012);
  EXPECT_EQ(plan.size(), 13);
  EXPECT_EQ(PortPlan::PortCount(0), 10);
}

TEST(TopologyTest, PortPlanRefusesPortsThatDoNotFit) {
  EXPECT_THAT(PortPlan::Create(7400, 2), IsOk());
  EXPECT_THAT(PortPlan::Create(65526, 0), IsOk());
  EXPECT_THAT(PortPlan::Create(65530, 2),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("P..P+11")));
  EXPECT_THAT(PortPlan::Create(0, 1), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PortPlan::Create(7400, 65), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TopologyTest, StagesBindWhatTheyOwnAndConnectToWhatTheyArePeersOf) {
  // The stable stages bind; workers, which come and go, connect.
  for (const EndpointSpec& spec : Endpoints()) {
    EXPECT_NE(spec.peer, spec.owner) << spec.role;
    if (spec.bind_socket != Socket::kHttp) {
      EXPECT_NE(spec.owner, Stage::kClassify) << spec.role;
    }
    if (spec.peer.has_value()) {
      EXPECT_FALSE(spec.connect_flag.empty()) << spec.role;
    }
  }
  EXPECT_EQ(Spec(Endpoint::kWork).peer, Stage::kClassify);
  EXPECT_EQ(Spec(Endpoint::kSinkInput).peer, Stage::kClassify);
  EXPECT_EQ(Spec(Endpoint::kCommit).peer, Stage::kSink);
  EXPECT_EQ(SocketName(Spec(Endpoint::kCommit).bind_socket), "PULL");
  EXPECT_EQ(SocketName(Spec(Endpoint::kCommit).connect_socket), "PUSH");
}

TEST(TopologyTest, AddressesForAHostAndForTheWildcard) {
  const PortPlan plan(7400, 1);
  EXPECT_EQ(BindAddress(plan, Endpoint::kPublish, "10.0.0.5"), "tcp://10.0.0.5:7400");
  EXPECT_EQ(ConnectAddress(plan, Endpoint::kPublish, "10.0.0.5"), "tcp://10.0.0.5:7400");
  EXPECT_EQ(BindAddress(plan, Endpoint::kStream, "0.0.0.0"), "tcp://0.0.0.0:7401");
  EXPECT_EQ(ConnectAddress(plan, Endpoint::kStream, "0.0.0.0"), "tcp://127.0.0.1:7401");
  EXPECT_EQ(ConnectAddress(plan, Endpoint::kStream, "*"), "tcp://127.0.0.1:7401");
  // Dead letters can be replayed through the admin endpoint: loopback whatever the bind host.
  EXPECT_EQ(BindAddress(plan, Endpoint::kAdmin, "0.0.0.0"), "tcp://127.0.0.1:7409");
  EXPECT_EQ(BindAddress(plan, Endpoint::kSinkHttp, "*"), "0.0.0.0:7407");
  // The internal hops between stages on one host stay on loopback whatever the bind host.
  for (Endpoint internal : {Endpoint::kWork, Endpoint::kSinkInput, Endpoint::kCommit}) {
    EXPECT_TRUE(Spec(internal).internal) << Spec(internal).role;
    EXPECT_THAT(BindAddress(plan, internal, "0.0.0.0"), ::testing::StartsWith("tcp://127.0.0.1:"));
    EXPECT_THAT(ConnectAddress(plan, internal, "10.0.0.5"),
                ::testing::StartsWith("tcp://127.0.0.1:"));
  }
  EXPECT_FALSE(Spec(Endpoint::kPublish).internal);
  EXPECT_EQ(BindAddress(plan, Endpoint::kWorkerHttp, "127.0.0.1", 0), "127.0.0.1:7410");
  EXPECT_EQ(ConnectAddress(plan, Endpoint::kIngestHttp, "0.0.0.0"), "http://127.0.0.1:7406");
}

TEST(TopologyTest, StageCommandLines) {
  LaunchOptions options{.ports = PortPlan(9000, 2),
                        .bin_dir = "/bin-dir",
                        .data_dir = "/d",
                        .log_level = "warn",
                        .ingest_flags = {"--fsync=false"},
                        .classify_flags = {"--taxonomy=/t"}};
  const StageCommand ingest = IngestCommand(options);
  EXPECT_EQ(ingest.name, "ingest");
  EXPECT_THAT(
      ingest.argv,
      ElementsAre("/bin-dir/ingest", "--publish_endpoint=tcp://127.0.0.1:9000",
                  "--work_endpoint=tcp://127.0.0.1:9003", "--commit_endpoint=tcp://127.0.0.1:9005",
                  "--admin_endpoint=tcp://127.0.0.1:9009", "--journal=/d/ingest/journal.db",
                  "--log_level=warn", "--http_listen=127.0.0.1:9006", "--fsync=false"));
  const StageCommand sink = SinkCommand(options);
  EXPECT_THAT(
      sink.argv,
      ElementsAre("/bin-dir/sink", "--stream_endpoint=tcp://127.0.0.1:9001",
                  "--history_endpoint=tcp://127.0.0.1:9002",
                  "--input_endpoint=tcp://127.0.0.1:9004", "--commit_endpoint=tcp://127.0.0.1:9005",
                  "--store=/d/sink/store.db", "--log_level=warn", "--http_listen=127.0.0.1:9007"));
  const StageCommand worker = WorkerCommand(options, 1);
  EXPECT_EQ(worker.name, "classify-1");
  EXPECT_EQ(worker.worker, 1);
  EXPECT_THAT(worker.argv, ElementsAre("/bin-dir/classify", "--work_endpoint=tcp://127.0.0.1:9003",
                                       "--sink_endpoint=tcp://127.0.0.1:9004", "--log_level=warn",
                                       "--http_listen=127.0.0.1:9011", "--taxonomy=/t"));

  options.http = false;
  options.log_level = "";
  for (const StageCommand& stage : PipelineCommands(options)) {
    for (const std::string& arg : stage.argv) {
      EXPECT_FALSE(absl::StartsWith(arg, "--http_listen")) << arg;
      EXPECT_FALSE(absl::StartsWith(arg, "--log_level")) << arg;
    }
  }
}

TEST(TopologyTest, PipelineStartsIngestThenSinkThenTheWorkers) {
  std::vector<std::string> names;
  for (const StageCommand& stage : PipelineCommands({.ports = PortPlan(7400, 2)})) {
    names.push_back(stage.name);
    EXPECT_EQ(StageOf(stage.name), stage.stage);
  }
  EXPECT_THAT(names, ElementsAre("ingest", "sink", "classify-0", "classify-1"));
  EXPECT_EQ(StageOf("classify-x"), std::nullopt);
  EXPECT_EQ(StageOf("up"), std::nullopt);
  EXPECT_THAT(names, Not(Contains("classify")));
}

}  // namespace
}  // namespace topicwire::topology
