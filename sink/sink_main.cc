// sink: stores tagged articles, publishes them on topic streams, serves history. The only file
// that reads flags (TotW 103).
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/service_main.h"
#include "common/zap_authenticator.h"
#include "prometheus/registry.h"
#include "sink/sink_metrics.h"
#include "sink/sink_stage.h"
#include "sink/store.h"
#include "spdlog/spdlog.h"
#include "zmq.hpp"

ABSL_FLAG(std::string, input_endpoint, "tcp://*:7404",
          "PULL endpoint to bind for Delivery frames from classify workers");
ABSL_FLAG(std::string, stream_endpoint, "tcp://*:7401",
          "Endpoint to bind for subscribers (SUB): [topic id][TaggedArticle]");
ABSL_FLAG(std::string, history_endpoint, "tcp://*:7402",
          "ROUTER endpoint to bind for HistoryRequest (DEALER or REQ clients)");
ABSL_FLAG(std::string, commit_endpoint, "tcp://127.0.0.1:7405",
          "ingest's commit endpoint to connect (PUSH CommitAck)");
ABSL_FLAG(std::string, store, "data/sink/store.db",
          "SQLite store file; parent directories are created");
ABSL_FLAG(bool, fsync, true,
          "Sync every batch to disk before acknowledging it (false: faster, but a power loss "
          "can lose articles ingest was already told are stored)");
ABSL_FLAG(absl::Duration, retention_age, absl::Hours(24 * 30),
          "Articles stored longer ago than this are removed from the store (0: kept whatever "
          "their age); history before them answers with the first sequence still held");
ABSL_FLAG(uint64_t, retention_bytes, uint64_t{4} << 30,
          "The oldest articles are removed while the store uses more than this many bytes (0: no "
          "bound); the default fits the shipped 5 GiB volume with room for the WAL");
ABSL_FLAG(uint64_t, max_store_bytes, 0,
          "The store file never grows beyond this many bytes (0: no bound but the disk's); when "
          "it (or the disk) is full, sink stays up, holds its batch unacknowledged, takes no "
          "deliveries (ingest then answers publishers BUSY) and resumes once space returns");
ABSL_FLAG(absl::Duration, store_full_retry_interval, absl::Seconds(1),
          "How often sink retries the held batch while its store is full");
ABSL_FLAG(absl::Duration, startup_publish_delay, absl::Seconds(1),
          "After a crash between storing a batch and publishing it, the unpublished copies are "
          "published this long after start-up (before any new input), once subscribers have "
          "reconnected");
ABSL_FLAG(std::string, test_crash_after_storing, "",
          "TEST ONLY: exit abruptly (as if killed) right after committing the batch that holds "
          "the article with this id, before publishing it; empty: never");
ABSL_FLAG(int, max_batch, 256,
          "Most deliveries stored in one transaction (one fsync); more costs memory, not speed");
ABSL_FLAG(uint64_t, stream_send_buffer_bytes, uint64_t{64} << 20,
          "Bytes queued per subscriber before a slow subscriber starts losing messages (which it "
          "then fills from history); counted as copies of 16 KiB, the size of a typical tagged "
          "article");
ABSL_FLAG(int, stream_send_hwm, 0,
          "Copies queued per subscriber; above 0 this replaces --stream_send_buffer_bytes");
ABSL_FLAG(int64_t, max_subscriptions_per_client, 10000,
          "Subscriptions one client address may send the stream endpoint while connected; one "
          "more closes all its stream connections (they reconnect and subscribe again). 0: no "
          "limit. Not applied with --curve_allow");
ABSL_FLAG(uint64_t, history_max_reply_bytes, uint64_t{16} << 20,
          "A history page stops growing past this many bytes (it always holds one article)");
ABSL_FLAG(uint64_t, history_send_buffer_bytes, uint64_t{64} << 20,
          "Bytes of history replies queued for one client that does not read them; further "
          "replies to it are dropped. Counted as replies of --history_max_reply_bytes");
ABSL_FLAG(uint32_t, history_default_limit, 100, "History page size when a request asks for 0");
ABSL_FLAG(uint32_t, history_max_limit, 1000, "Largest history page a request may ask for");
ABSL_FLAG(std::string, curve_secret_key_file, "",
          "CURVE key file of this stage (PREFIX.key from `topicwire keygen`): every hop then "
          "requires CURVE (stream and history admit --curve_allow, input --curve_stage_allow; "
          "the commit connection to ingest uses --curve_ingest_server_key); empty: plaintext");
ABSL_FLAG(std::string, curve_allow, "",
          "Allow-list of client public keys for the stream and history endpoints (one Z85 key "
          "or .pub line per line, # comments); required with --curve_secret_key_file; reloaded "
          "when it changes or on SIGHUP");
ABSL_FLAG(std::string, curve_stage_allow, "",
          "Allow-list of stage public keys (classify workers) for the input endpoint; required "
          "with --curve_secret_key_file; reloaded when it changes or on SIGHUP");
ABSL_FLAG(std::string, curve_ingest_server_key, "",
          "ingest's CURVE public key (Z85 or its .pub file) for the commit connection; required "
          "with --curve_secret_key_file");
ABSL_FLAG(int, linger_ms, 2000, "Upper bound on how long unsent output delays exit");
ABSL_FLAG(std::string, http_listen, "",
          "host:port serving /healthz /readyz /metrics, e.g. 0.0.0.0:7407; empty: off");

int main(int argc, char** argv) {
  absl::StatusOr<topicwire::Shutdown> shutdown = topicwire::StartService(
      argc, argv, "sink",
      "stores tagged articles, publishes them on topic streams and serves history");
  if (!shutdown.ok()) return 1;

  // SIGHUP reloads the allow-lists; blocked before any thread starts, like SIGTERM.
  int curve_reload_fd = -1;
  if (!absl::GetFlag(FLAGS_curve_secret_key_file).empty()) {
    absl::StatusOr<int> reload_fd = topicwire::curve::BlockSighupIntoFd();
    if (!reload_fd.ok()) return topicwire::ExitCode(reload_fd.status());
    curve_reload_fd = *reload_fd;
  }
  absl::StatusOr<topicwire::curve::ClientOptions> commit_curve =
      topicwire::curve::LoadStageClientOptions(absl::GetFlag(FLAGS_curve_secret_key_file),
                                               absl::GetFlag(FLAGS_curve_ingest_server_key),
                                               "curve_ingest_server_key");
  if (!commit_curve.ok()) return topicwire::ExitCode(commit_curve.status());
  auto registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<topicwire::Readiness> readiness = topicwire::sink::NewSinkReadiness();
  absl::StatusOr<std::unique_ptr<topicwire::HttpEndpoint>> http =
      topicwire::ServeProbes(absl::GetFlag(FLAGS_http_listen), registry, readiness);
  if (!http.ok()) return 1;

  const topicwire::sink::SqliteStoreOptions store_options{
      .path = absl::GetFlag(FLAGS_store),
      .fsync = absl::GetFlag(FLAGS_fsync),
      .retention_age = absl::GetFlag(FLAGS_retention_age),
      .retention_bytes = static_cast<int64_t>(absl::GetFlag(FLAGS_retention_bytes)),
      .max_bytes = static_cast<int64_t>(absl::GetFlag(FLAGS_max_store_bytes))};
  absl::StatusOr<std::unique_ptr<topicwire::sink::SqliteStore>> store =
      topicwire::sink::SqliteStore::Open(store_options);
  if (!store.ok()) return topicwire::ExitCode(store.status());
  spdlog::info("store {} holds {} articles (fsync={})", store_options.path,
               (*store)->head_sequence(), store_options.fsync);

  topicwire::sink::SinkOptions options;
  options.input_endpoint = absl::GetFlag(FLAGS_input_endpoint);
  options.stream_endpoint = absl::GetFlag(FLAGS_stream_endpoint);
  options.history_endpoint = absl::GetFlag(FLAGS_history_endpoint);
  options.commit_endpoint = absl::GetFlag(FLAGS_commit_endpoint);
  options.max_batch = absl::GetFlag(FLAGS_max_batch);
  options.stream_send_buffer_bytes = absl::GetFlag(FLAGS_stream_send_buffer_bytes);
  options.stream_send_hwm = absl::GetFlag(FLAGS_stream_send_hwm);
  options.max_subscriptions_per_client = absl::GetFlag(FLAGS_max_subscriptions_per_client);
  options.history.max_reply_bytes = absl::GetFlag(FLAGS_history_max_reply_bytes);
  options.history.send_buffer_bytes = absl::GetFlag(FLAGS_history_send_buffer_bytes);
  options.history.default_limit = absl::GetFlag(FLAGS_history_default_limit);
  options.history.max_limit = absl::GetFlag(FLAGS_history_max_limit);
  options.store_full_retry_interval = absl::GetFlag(FLAGS_store_full_retry_interval);
  options.startup_publish_delay = absl::GetFlag(FLAGS_startup_publish_delay);
  if (std::string crash_id = absl::GetFlag(FLAGS_test_crash_after_storing); !crash_id.empty()) {
    options.after_commit_for_test = [crash_id](const auto& articles) {
      for (const topicwire::v1::TaggedArticle* article : articles) {
        if (article->article().id() != crash_id) continue;
        spdlog::critical("--test_crash_after_storing={}: exiting between commit and publish",
                         crash_id);
        std::_Exit(137);
      }
    };
  }
  options.linger_ms = absl::GetFlag(FLAGS_linger_ms);
  options.registry = registry;
  options.curve = {.secret_key_file = absl::GetFlag(FLAGS_curve_secret_key_file),
                   .allow_list_file = absl::GetFlag(FLAGS_curve_allow),
                   .stage_allow_list_file = absl::GetFlag(FLAGS_curve_stage_allow),
                   .reload_fd = curve_reload_fd};
  options.commit_curve = *std::move(commit_curve);
  options.readiness = readiness;
  if (options.max_batch < 1 || options.history.default_limit < 1 || options.history.max_limit < 1) {
    spdlog::error(
        "exiting: --max_batch, --history_default_limit and --history_max_limit must "
        "be at least 1");
    return 1;
  }

  absl::Status status;
  {
    zmq::context_t context(/*io_threads=*/1);
    status = topicwire::sink::RunStage(context, options, **store, shutdown->fd());
  }  // sockets closed with bounded linger before the store closes
  if (!status.ok()) return topicwire::ExitCode(status);
  spdlog::info("stopped cleanly");
  return 0;
}
