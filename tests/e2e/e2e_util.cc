#include "tests/e2e/e2e_util.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "chaos/metrics_scrape.h"
#include "common/zmq_channel.h"
#include "proto/history.pb.h"
#include "tests/testing/prelude.h"

namespace topicwire::e2e {

using namespace ::topicwire::testing::prelude;

int RandomFreePortRange(int count) { return testing::FreeLoopbackPortRange(count); }

Pipeline::Pipeline(int max_workers)
    : ports_(RandomFreePortRange(topology::PortPlan::PortCount(max_workers)), max_workers),
      dir_(testing::MakeTempDir()),
      // No --http_listen and no --log_level unless a test asks: the stages' defaults.
      launch_{.ports = ports_, .bin_dir = testing::BinDir(), .data_dir = dir_, .http = false},
      supervisor_(std::make_unique<Supervisor>(SupervisorOptions{.log_dir = dir_ + "/logs"})) {}

Pipeline::~Pipeline() {
  if (::testing::Test::HasFailure()) std::cerr << Logs();
  // ~Supervisor SIGKILLs everything still running.
}

std::string Pipeline::Connect(topology::Endpoint endpoint) const {
  return topology::ConnectAddress(ports_, endpoint, launch_.bind_host);
}

void Pipeline::Start(const topology::StageCommand& command) {
  ASSERT_THAT(supervisor_->Start(command.name, command.argv), IsOk()) << command.name;
}

void Pipeline::StartIngest(const std::vector<std::string>& extra_flags) {
  topology::LaunchOptions launch = launch_;
  launch.ingest_flags = extra_flags;
  Start(topology::IngestCommand(launch));
}

void Pipeline::StartSink(const std::vector<std::string>& extra_flags) {
  topology::LaunchOptions launch = launch_;
  launch.sink_flags = extra_flags;
  Start(topology::SinkCommand(launch));
}

void Pipeline::StartWorker(int index, const std::vector<std::string>& extra_flags) {
  topology::LaunchOptions launch = launch_;
  launch.classify_flags = extra_flags;
  Start(topology::WorkerCommand(launch, index));
}

void Pipeline::StartAll(int workers) {
  StartIngest();
  StartSink();
  for (int i = 0; i < workers; ++i) StartWorker(i);
}

Subprocess& Pipeline::process(const std::string& name) {
  Subprocess* process = supervisor_->process(name);
  if (process == nullptr) {
    std::cerr << name << " was never started\n";
    std::abort();  // a test that asks for a stage it did not start is broken
  }
  return *process;
}

absl::StatusOr<int> Pipeline::Stop(const std::string& name, int signal, absl::Duration timeout) {
  return supervisor_->Stop(name, signal, timeout);
}

std::string Pipeline::Logs() const {
  std::string text;
  for (const std::string& name : supervisor_->Names()) {
    std::string log = testing::ReadFile(supervisor_->LogPath(name));
    if (log.size() > 4000) log = "..." + log.substr(log.size() - 4000);
    absl::StrAppend(&text, "---- ", name, ".log\n", log);
  }
  return text;
}

absl::StatusOr<v1::PublishReply> PublishRaw(zmq::context_t& context, const std::string& endpoint,
                                            const std::string& frame, absl::Duration timeout) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  if (absl::Status s = ConfigureSocket(socket, 0); !s.ok()) return s;
  if (absl::Status s = Connect(socket, endpoint); !s.ok()) return s;
  Frames frames;
  frames.emplace_back(frame.data(), frame.size());
  if (absl::Status s = SendFrames(socket, frames); !s.ok()) return s;
  std::vector<zmq::pollitem_t> items = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
  absl::StatusOr<int> ready = topicwire::Poll(items, timeout);
  if (!ready.ok()) return ready.status();
  if (*ready == 0) return absl::DeadlineExceededError("no PublishReply from " + endpoint);
  if (absl::StatusOr<bool> got = RecvFrames(socket, frames); !got.ok()) return got.status();
  v1::PublishReply reply;
  if (absl::Status s = ParseFrame(frames.back(), reply); !s.ok()) return s;
  return reply;
}

absl::StatusOr<v1::PublishReply> PublishOnce(zmq::context_t& context, const std::string& endpoint,
                                             const v1::PublishRequest& request,
                                             absl::Duration timeout) {
  return PublishRaw(context, endpoint, request.SerializeAsString(), timeout);
}

absl::StatusOr<v1::PublishAck> PublishArticle(zmq::context_t& context, const std::string& endpoint,
                                              const v1::Article& article) {
  v1::PublishRequest request;
  *request.add_articles() = article;
  absl::StatusOr<v1::PublishReply> reply = PublishOnce(context, endpoint, request);
  if (!reply.ok()) return reply.status();
  if (reply->acks_size() != 1) {
    return absl::InternalError(absl::StrCat("ingest answered one article with ", reply->acks_size(),
                                            " acks (error: '", reply->error(), "')"));
  }
  return reply->acks(0);
}

absl::StatusOr<std::vector<v1::TaggedArticle>> ReadHistory(zmq::context_t& context,
                                                           const std::string& endpoint,
                                                           absl::Duration timeout) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  if (absl::Status s = ConfigureSocket(socket, 0); !s.ok()) return s;
  if (absl::Status s = Connect(socket, endpoint); !s.ok()) return s;
  std::vector<v1::TaggedArticle> all;
  v1::HistoryRequest request;
  request.set_limit(1000);
  while (true) {
    if (absl::Status s = SendProto(socket, request); !s.ok()) return s;
    std::vector<zmq::pollitem_t> items = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
    absl::StatusOr<int> ready = topicwire::Poll(items, timeout);
    if (!ready.ok()) return ready.status();
    if (*ready == 0) return absl::DeadlineExceededError("no HistoryReply from " + endpoint);
    Frames frames;
    if (absl::StatusOr<bool> got = RecvFrames(socket, frames); !got.ok()) return got.status();
    v1::HistoryReply reply;
    if (absl::Status s = ParseFrame(frames.back(), reply); !s.ok()) return s;
    if (!reply.error().empty()) return absl::InternalError(reply.error());
    for (const v1::TaggedArticle& copy : reply.messages()) all.push_back(copy);
    if (reply.complete() || reply.last_sequence() <= request.after_sequence()) break;
    request.set_after_sequence(reply.last_sequence());
  }
  return all;
}

std::map<std::string, int> StoredCounts(const std::vector<v1::TaggedArticle>& history) {
  std::map<std::string, std::set<uint64_t>> sequences;
  for (const v1::TaggedArticle& copy : history) {
    sequences[copy.article().id()].insert(copy.sequence());
  }
  std::map<std::string, int> counts;
  for (const auto& [id, seqs] : sequences) counts[id] = static_cast<int>(seqs.size());
  return counts;
}

bool WaitUntilStoredOnce(zmq::context_t& context, const std::string& history_endpoint,
                         const std::string& id, absl::Duration timeout) {
  return WaitFor(
      [&] {
        absl::StatusOr<std::vector<v1::TaggedArticle>> history =
            ReadHistory(context, history_endpoint, absl::Seconds(5));
        return history.ok() && StoredCounts(*history).count(id) == 1;
      },
      timeout);
}

void ExpectOversizedRejectedAndServingGoesOn(Pipeline& pipeline, zmq::context_t& context,
                                             const std::string& oversized_id,
                                             const std::string& valid_id) {
  v1::Article oversized = MakeArticle(oversized_id);
  oversized.set_body(std::string(2 << 20, 'x'));
  absl::StatusOr<v1::PublishAck> rejected =
      PublishArticle(context, pipeline.publish_endpoint(), oversized);
  ASSERT_THAT(rejected, IsOk());
  EXPECT_EQ(rejected->status(), v1::PublishAck::REJECTED);
  EXPECT_THAT(rejected->reason(), HasSubstr("1048576"));

  absl::StatusOr<v1::PublishAck> accepted =
      PublishArticle(context, pipeline.publish_endpoint(), MakeArticle(valid_id));
  ASSERT_THAT(accepted, IsOk());
  EXPECT_EQ(accepted->status(), v1::PublishAck::ACCEPTED);
  EXPECT_TRUE(WaitUntilStoredOnce(context, pipeline.history_endpoint(), valid_id));
  for (const char* name : {"ingest", "sink", "classify-0"}) {
    EXPECT_TRUE(pipeline.process(name).running()) << name;
  }
}

std::map<std::string, std::vector<std::string>> ExpectedFeedTopics() {
  std::map<std::string, std::vector<std::string>> expected;
  std::ifstream file(testing::SourceDir() + "/samples/feed.expected.tsv");
  for (std::string line; std::getline(file, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    std::vector<std::string> topics;
    if (fields.size() > 1) topics = absl::StrSplit(fields[1], ',', absl::SkipEmpty());
    std::sort(topics.begin(), topics.end());
    expected[fields[0]] = topics;
  }
  return expected;
}

double MetricSample(int http_port, const std::string& sample) {
  return chaos::ScrapeMetric(http_port, sample).value_or(-1);
}

int RunCli(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv = {testing::BinDir() + "/topicwire"};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<Subprocess> cli = Subprocess::Start(argv, log);
  if (!cli.ok()) return -1;
  absl::StatusOr<int> status = cli->Wait(absl::Seconds(60));
  if (!status.ok() || !WIFEXITED(*status)) return -1;
  return WEXITSTATUS(*status);
}

StreamCollector::StreamCollector(zmq::context_t& context, const std::string& endpoint)
    : socket_(context, zmq::socket_type::sub) {
  EXPECT_THAT(ConfigureSocket(socket_, 0), IsOk());
  EXPECT_THAT(SetReceiveHighWaterMark(socket_, 1'000'000), IsOk());
  EXPECT_THAT(AddSubscription(socket_, ""), IsOk());
  EXPECT_THAT(Connect(socket_, endpoint), IsOk());
}

int StreamCollector::Receive(absl::Duration wait) {
  int received = 0;
  const absl::Time deadline = absl::Now() + wait;
  while (true) {
    std::vector<zmq::pollitem_t> items = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
    absl::StatusOr<int> ready =
        topicwire::Poll(items, std::max(absl::ZeroDuration(), deadline - absl::Now()));
    if (!ready.ok() || *ready == 0) return received;
    Frames frames;
    if (!RecvFrames(socket_, frames).ok() || frames.size() != 2) continue;
    v1::TaggedArticle copy;
    if (!ParseFrame(frames[1], copy).ok()) continue;
    EXPECT_EQ(frames[0].to_string(), copy.stream());
    copies_.push_back(std::move(copy));
    ++received;
  }
}

bool StreamCollector::ReceiveUntil(const std::string& id, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!HasId(id) && absl::Now() < deadline) {
    Receive(std::min(absl::Milliseconds(100), deadline - absl::Now()));
  }
  return HasId(id);
}

bool StreamCollector::HasId(const std::string& id) const {
  for (const v1::TaggedArticle& copy : copies_) {
    if (copy.article().id() == id) return true;
  }
  return false;
}

}  // namespace topicwire::e2e
