// Helpers for end-to-end tests: the real ingest, classify and sink binaries as child processes
// on free loopback ports, and clients that talk to them over real sockets.
#ifndef TOPICWIRE_TESTS_E2E_E2E_UTIL_H_
#define TOPICWIRE_TESTS_E2E_E2E_UTIL_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/subprocess.h"
#include "common/supervisor.h"
#include "common/topology.h"
#include "proto/article.pb.h"
#include "tests/testing/articles.h"
#include "zmq.hpp"

namespace topicwire::e2e {

// testing::FreeLoopbackPortRange with a per-process random seed (see the .cc).
int RandomFreePortRange(int count);

// One pipeline's processes, ports and data directory: ports and command lines from
// common/topology.h on a free base port, processes run by common/supervisor.h (never restarted
// behind a test's back). Every process logs to <dir>/logs/<name>.log (printed when a test fails).
class Pipeline {
 public:
  // Ports for up to `max_workers` classify workers.
  explicit Pipeline(int max_workers = 2);
  ~Pipeline();

  std::string publish_endpoint() const { return Connect(topology::Endpoint::kPublish); }
  std::string stream_endpoint() const { return Connect(topology::Endpoint::kStream); }
  std::string history_endpoint() const { return Connect(topology::Endpoint::kHistory); }
  // The port of `endpoint` (e.g. kIngestHttp: ingest serves HTTP there when a test passes
  // --http_listen=127.0.0.1:<it>).
  int port(topology::Endpoint endpoint) const { return ports_.Port(endpoint); }
  const std::string& dir() const { return dir_; }

  // Starts (or restarts) a stage; `extra_flags` are appended to the standard ones.
  void StartIngest(const std::vector<std::string>& extra_flags = {});
  void StartSink(const std::vector<std::string>& extra_flags = {});
  void StartWorker(int index, const std::vector<std::string>& extra_flags = {});
  void StartAll(int workers);

  // The process called `name` ("ingest", "sink", "classify-0"). REQUIRES: it was started.
  Subprocess& process(const std::string& name);
  // Sends `signal` and waits for the exit; returns the wait status or an error on timeout.
  absl::StatusOr<int> Stop(const std::string& name, int signal, absl::Duration timeout);
  // The tail of every log, for failure messages.
  std::string Logs() const;

 private:
  std::string Connect(topology::Endpoint endpoint) const;
  void Start(const topology::StageCommand& command);

  topology::PortPlan ports_;
  std::string dir_;
  topology::LaunchOptions launch_;
  // unique_ptr: the supervisor is neither copyable nor movable, and Logs() is const.
  std::unique_ptr<Supervisor> supervisor_;
};

// Sends one PublishRequest frame (or raw bytes) over a fresh DEALER and waits for the reply.
absl::StatusOr<v1::PublishReply> PublishOnce(zmq::context_t& context, const std::string& endpoint,
                                             const v1::PublishRequest& request,
                                             absl::Duration timeout = absl::Seconds(20));
absl::StatusOr<v1::PublishReply> PublishRaw(zmq::context_t& context, const std::string& endpoint,
                                            const std::string& frame,
                                            absl::Duration timeout = absl::Seconds(20));

// Publishes `article` alone and returns ingest's answer for it.
absl::StatusOr<v1::PublishAck> PublishArticle(zmq::context_t& context, const std::string& endpoint,
                                              const v1::Article& article);

// Every copy in sink's history, paging from the start.
absl::StatusOr<std::vector<v1::TaggedArticle>> ReadHistory(
    zmq::context_t& context, const std::string& endpoint,
    absl::Duration timeout = absl::Seconds(20));

// Article id -> how many distinct store sequences hold it (1 = stored exactly once).
std::map<std::string, int> StoredCounts(const std::vector<v1::TaggedArticle>& history);

// Whether sink's history holds the article `id` exactly once within `timeout`.
bool WaitUntilStoredOnce(zmq::context_t& context, const std::string& history_endpoint,
                         const std::string& id, absl::Duration timeout = absl::Seconds(60));

// Publishes `oversized_id` with a 2 MiB body and expects it REJECTED with ingest's 1 MiB limit in
// the reason; then publishes `valid_id` and expects it stored once, with every stage of
// `pipeline` (one worker) still running.
void ExpectOversizedRejectedAndServingGoesOn(Pipeline& pipeline, zmq::context_t& context,
                                             const std::string& oversized_id,
                                             const std::string& valid_id);

// samples/feed.expected.tsv as id -> sorted topics.
std::map<std::string, std::vector<std::string>> ExpectedFeedTopics();

// The value of one sample on a stage's /metrics page, named as it appears there
// ("topicwire_sink_articles_stored_total", or with labels: "name{stream=\"ai\"}"); -1 when
// absent.
double MetricSample(int http_port, const std::string& sample);

// Runs the real `topicwire ARGS...` to its end (at most 60 s) with stdout and stderr in `log`;
// returns its exit code, -1 when it did not start or exit.
int RunCli(const std::vector<std::string>& args, const std::string& log);

// A plain SUB on every stream of `endpoint` that collects every copy it receives (ZeroMQ
// reconnects it when sink restarts).
class StreamCollector {
 public:
  StreamCollector(zmq::context_t& context, const std::string& endpoint);

  // Receives for up to `wait`; returns how many copies arrived.
  int Receive(absl::Duration wait);
  // Receives until a copy of `id` has arrived or `timeout` passed; returns whether it has.
  bool ReceiveUntil(const std::string& id, absl::Duration timeout);
  bool HasId(const std::string& id) const;
  const std::vector<v1::TaggedArticle>& copies() const { return copies_; }

 private:
  zmq::socket_t socket_;
  std::vector<v1::TaggedArticle> copies_;
};

// An article with `id` and a title; the body mentions quantum computing so that it is tagged.
using ::topicwire::testing::MakeArticle;

}  // namespace topicwire::e2e

#endif  // TOPICWIRE_TESTS_E2E_E2E_UTIL_H_
