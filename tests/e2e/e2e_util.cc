#include "tests/e2e/e2e_util.h"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "chaos/metrics_scrape.h"
#include "common/zmq_channel.h"
#include "gtest/gtest.h"
#include "proto/history.pb.h"
#include "tests/testing/test_util.h"

namespace topicwire::e2e {

int RandomFreePortRange(int count) { return testing::FreeLoopbackPortRange(count); }

Pipeline::Pipeline() : base_port_(RandomFreePortRange(12)), dir_(testing::MakeTempDir()) {
  std::filesystem::create_directories(dir_ + "/logs");
}

Pipeline::~Pipeline() {
  if (::testing::Test::HasFailure()) std::cerr << Logs();
  // SIGKILL everything still running (Subprocess's destructor), workers first.
  for (auto it = processes_.begin(); it != processes_.end(); ++it) it->second.Signal(SIGKILL);
}

std::string Pipeline::Endpoint(int offset) const {
  return absl::StrCat("tcp://127.0.0.1:", base_port_ + offset);
}

void Pipeline::Start(const std::string& name, const std::vector<std::string>& argv) {
  if (auto it = processes_.find(name); it != processes_.end()) {
    ASSERT_FALSE(it->second.running()) << name << " is already running";
    processes_.erase(it);
  }
  absl::StatusOr<Subprocess> process =
      Subprocess::Start(argv, absl::StrCat(dir_, "/logs/", name, ".log"));
  ASSERT_TRUE(process.ok()) << process.status();
  processes_.emplace(name, std::move(*process));
}

void Pipeline::StartIngest(const std::vector<std::string>& extra_flags) {
  std::vector<std::string> argv = {
      testing::BinDir() + "/ingest", "--publish_endpoint=" + Endpoint(0),
      "--work_endpoint=" + Endpoint(3), "--commit_endpoint=" + Endpoint(5),
      // The admin endpoint's default is a fixed port: tests running in parallel must not share it.
      "--admin_endpoint=" + Endpoint(9), "--journal=" + dir_ + "/ingest/journal.db"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  Start("ingest", argv);
}

void Pipeline::StartSink(const std::vector<std::string>& extra_flags) {
  std::vector<std::string> argv = {
      testing::BinDir() + "/sink",        "--input_endpoint=" + Endpoint(4),
      "--stream_endpoint=" + Endpoint(1), "--history_endpoint=" + Endpoint(2),
      "--commit_endpoint=" + Endpoint(5), "--store=" + dir_ + "/sink/store.db"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  Start("sink", argv);
}

void Pipeline::StartWorker(int index) {
  Start(absl::StrCat("classify-", index),
        {testing::BinDir() + "/classify", "--work_endpoint=" + Endpoint(3),
         "--sink_endpoint=" + Endpoint(4)});
}

void Pipeline::StartAll(int workers) {
  StartIngest();
  StartSink();
  for (int i = 0; i < workers; ++i) StartWorker(i);
}

Subprocess& Pipeline::process(const std::string& name) { return processes_.at(name); }

absl::StatusOr<int> Pipeline::Stop(const std::string& name, int signal, absl::Duration timeout) {
  Subprocess& child = processes_.at(name);
  child.Signal(signal);
  return child.Wait(timeout);
}

std::string Pipeline::Logs() const {
  std::string text;
  for (const auto& [name, process] : processes_) {
    std::string log = testing::ReadFile(absl::StrCat(dir_, "/logs/", name, ".log"));
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

}  // namespace topicwire::e2e
