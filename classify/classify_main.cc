// classify: a worker that takes articles from ingest, tags them with the taxonomy's topics and
// hands them to sink. The only file that reads flags (TotW 103).
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "classify/classifier.h"
#include "classify/classify_stage.h"
#include "common/curve_keys.h"
#include "common/readiness.h"
#include "common/service_main.h"
#include "prometheus/registry.h"
#include "spdlog/spdlog.h"
#include "zmq.hpp"

ABSL_FLAG(std::string, work_endpoint, "tcp://127.0.0.1:7403",
          "ingest's work endpoint to connect (DEALER: credit, heartbeats, Dispatch)");
ABSL_FLAG(std::string, sink_endpoint, "tcp://127.0.0.1:7404",
          "sink's input endpoint to connect (PUSH Delivery)");
ABSL_FLAG(std::string, taxonomy, "",
          "Taxonomy file (topicwire.v1.Taxonomy in protobuf text format); empty: the bundled "
          "default (share/topicwire/taxonomy/default.textproto)");
ABSL_FLAG(absl::Duration, taxonomy_check_interval, absl::Seconds(1),
          "How often to check the taxonomy file for changes (reloaded when it changes; SIGHUP "
          "reloads at once); 0: only on SIGHUP");
ABSL_FLAG(int, credit, 32, "Most articles this worker holds at once (credit granted to ingest)");
ABSL_FLAG(absl::Duration, heartbeat_interval, absl::Seconds(1),
          "Heartbeat period; ingest silent for 3 periods makes the worker reconnect");
ABSL_FLAG(int, linger_ms, 2000,
          "Upper bound on how long shutdown waits to hand held articles to sink");
ABSL_FLAG(std::string, curve_secret_key_file, "",
          "CURVE key file of this worker (PREFIX.key from `topicwire keygen`): the connections "
          "to ingest and sink then use CURVE; needs --curve_ingest_server_key and "
          "--curve_sink_server_key; empty: plaintext");
ABSL_FLAG(std::string, curve_ingest_server_key, "",
          "ingest's CURVE public key (Z85 or its .pub file) for the work connection");
ABSL_FLAG(std::string, curve_sink_server_key, "",
          "sink's CURVE public key (Z85 or its .pub file) for the delivery connection");
ABSL_FLAG(std::string, http_listen, "",
          "host:port serving /healthz /readyz /metrics, e.g. 0.0.0.0:7408; empty: off");

int main(int argc, char** argv) {
  absl::StatusOr<topicwire::Shutdown> shutdown = topicwire::StartService(
      argc, argv, "classify",
      "classify: tags articles from ingest with taxonomy topics and hands them to sink");
  if (!shutdown.ok()) return 1;
  // SIGHUP means "reload the taxonomy"; blocked here for the same reason as above.
  absl::StatusOr<int> reload_fd = topicwire::classify::BlockSighupIntoFd();
  if (!reload_fd.ok()) {
    spdlog::critical("{}", reload_fd.status().ToString());
    return 1;
  }

  std::string taxonomy_path = absl::GetFlag(FLAGS_taxonomy);
  if (taxonomy_path.empty()) taxonomy_path = topicwire::classify::DefaultTaxonomyPath();
  absl::StatusOr<std::unique_ptr<topicwire::classify::Classifier>> classifier =
      topicwire::classify::Classifier::FromFile(taxonomy_path);
  if (!classifier.ok()) {
    spdlog::error("exiting: {}", std::string(classifier.status().message()));
    return 1;
  }
  spdlog::info("taxonomy {} version {}: {} topics, {} patterns", taxonomy_path,
               (*classifier)->version(), (*classifier)->taxonomy().topics_size(),
               (*classifier)->pattern_count());

  const std::string curve_key_file = absl::GetFlag(FLAGS_curve_secret_key_file);
  absl::StatusOr<topicwire::curve::ClientOptions> ingest_curve =
      topicwire::curve::LoadStageClientOptions(
          curve_key_file, absl::GetFlag(FLAGS_curve_ingest_server_key), "curve_ingest_server_key");
  if (!ingest_curve.ok()) return topicwire::ExitCode(ingest_curve.status());
  absl::StatusOr<topicwire::curve::ClientOptions> sink_curve =
      topicwire::curve::LoadStageClientOptions(
          curve_key_file, absl::GetFlag(FLAGS_curve_sink_server_key), "curve_sink_server_key");
  if (!sink_curve.ok()) return topicwire::ExitCode(sink_curve.status());

  auto registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<topicwire::Readiness> readiness = topicwire::classify::NewClassifyReadiness();
  absl::StatusOr<std::unique_ptr<topicwire::HttpEndpoint>> http =
      topicwire::ServeProbes(absl::GetFlag(FLAGS_http_listen), registry, readiness);
  if (!http.ok()) return 1;

  zmq::context_t context(/*io_threads=*/1);
  const topicwire::classify::ClassifyOptions options{
      .work_endpoint = absl::GetFlag(FLAGS_work_endpoint),
      .sink_endpoint = absl::GetFlag(FLAGS_sink_endpoint),
      .credit = absl::GetFlag(FLAGS_credit),
      .heartbeat_interval = absl::GetFlag(FLAGS_heartbeat_interval),
      .linger_ms = absl::GetFlag(FLAGS_linger_ms),
      .registry = registry,
      .readiness = readiness,
      .ingest_curve = *std::move(ingest_curve),
      .sink_curve = *std::move(sink_curve),
      .taxonomy_path = taxonomy_path,
      .reload_fd = *reload_fd,
      .taxonomy_check_interval = absl::GetFlag(FLAGS_taxonomy_check_interval)};
  return topicwire::ExitCode(topicwire::classify::RunStage(
      context, options,
      std::shared_ptr<const topicwire::classify::Classifier>(*std::move(classifier)),
      shutdown->fd()));
}
