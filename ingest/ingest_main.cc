// ingest: the only file that reads flags (TotW 103). Everything else is in topicwire_ingest.
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/service_main.h"
#include "common/zap_authenticator.h"
#include "ingest/ingest_stage.h"
#include "spdlog/spdlog.h"
#include "zmq.hpp"

ABSL_FLAG(std::string, http_listen, "",
          "host:port serving /healthz /readyz /metrics, e.g. 0.0.0.0:7406; empty: off");
ABSL_FLAG(std::string, publish_endpoint, "tcp://*:7400",
          "ROUTER endpoint to bind for publishers' PublishRequest");
ABSL_FLAG(std::string, work_endpoint, "tcp://*:7403",
          "ROUTER endpoint to bind for classify workers");
ABSL_FLAG(std::string, commit_endpoint, "tcp://*:7405",
          "PULL endpoint to bind for sink's CommitAck");
ABSL_FLAG(std::string, admin_endpoint, "tcp://127.0.0.1:7409",
          "ROUTER endpoint to bind for admin requests (topicwire deadletters); empty: off");
ABSL_FLAG(uint32_t, max_attempts, 5,
          "Failed delivery attempts after which an article is moved to the dead letters");
ABSL_FLAG(int64_t, max_journal_bytes, 0,
          "Upper bound on the journal's size in bytes; at the bound publishers get BUSY as with "
          "a full disk (0: no bound)");
ABSL_FLAG(std::string, journal, "data/ingest/journal.db",
          "SQLite journal file of accepted articles (directory created when missing)");
ABSL_FLAG(int64_t, max_article_bytes, 1 << 20,
          "Largest serialized article accepted; larger ones are REJECTED with the sizes");
ABSL_FLAG(int64_t, max_articles_per_request, topicwire::ingest::kDefaultMaxArticlesPerRequest,
          "Most articles one publish request may hold; a larger request is refused whole with "
          "the count and the limit");
ABSL_FLAG(int, max_frames_per_message, 8,
          "Most frames one message to any of ingest's sockets may have, ingest's routing id "
          "included (a REQ publisher's message has 3, a DEALER's 2, one more per proxy); a longer "
          "publish message is refused whole with a reason");
ABSL_FLAG(absl::Duration, redelivery_timeout, absl::Seconds(10),
          "A dispatched article not confirmed by sink within this time is dispatched again");
ABSL_FLAG(absl::Duration, heartbeat_interval, absl::Seconds(1),
          "Heartbeat period towards workers; a worker silent for 3 periods is forgotten");
ABSL_FLAG(int64_t, dedup_window, 10'000'000,
          "How many recently accepted ids are remembered to answer DUPLICATE");
ABSL_FLAG(int64_t, dedup_window_bytes, int64_t{256} << 20,
          "Disk space the remembered ids of articles sink confirmed may take in the journal "
          "(about 110 bytes per id of 36 bytes); the oldest are forgotten first, before a new "
          "article is written (0: no bound)");
ABSL_FLAG(absl::Duration, dedup_window_age, absl::Hours(7 * 24),
          "Ids of articles sink confirmed are forgotten this long after they were accepted "
          "(inf: no bound)");
ABSL_FLAG(int64_t, max_pending, 100'000,
          "Articles accepted but not yet confirmed by sink; at this many, publishers get BUSY");
ABSL_FLAG(int64_t, max_in_flight, 4096,
          "Articles dispatched to workers but not yet committed by sink, at most; bounds what "
          "waits between workers and sink so that --redelivery_timeout fires only for lost ones");
ABSL_FLAG(bool, fsync, true,
          "fsync the journal before answering ACCEPTED; false is faster but a power loss may "
          "lose the last accepted articles");
ABSL_FLAG(std::string, curve_secret_key_file, "",
          "CURVE key file of this stage (PREFIX.key from `topicwire keygen`): every endpoint "
          "then requires CURVE (publish admits --curve_allow, work and commit "
          "--curve_stage_allow, admin --curve_admin_allow); empty: plaintext");
ABSL_FLAG(std::string, curve_allow, "",
          "Allow-list of client public keys for the publish endpoint (one Z85 key or .pub line "
          "per line, # comments); required with --curve_secret_key_file; reloaded when it "
          "changes or on SIGHUP");
ABSL_FLAG(std::string, curve_stage_allow, "",
          "Allow-list of stage public keys (classify workers, sink) for the work and commit "
          "endpoints; required with --curve_secret_key_file; reloaded when it changes or on "
          "SIGHUP");
ABSL_FLAG(std::string, curve_admin_allow, "",
          "Allow-list of operator public keys for the admin endpoint (topicwire deadletters); "
          "empty with --curve_secret_key_file: the admin endpoint admits no one; reloaded when "
          "it changes or on SIGHUP");
ABSL_FLAG(int, linger_ms, 1000, "Upper bound on how long unsent replies delay exit");
ABSL_FLAG(int, max_queued_replies_per_publisher, 64,
          "Replies queued for one publisher that has not read them; further replies to it are "
          "dropped and counted in topicwire_ingest_replies_undelivered_total (its accepted "
          "articles stay durable; a retry is answered DUPLICATE). At least the number of "
          "requests a publisher keeps in flight");

int main(int argc, char** argv) {
  absl::StatusOr<topicwire::Shutdown> shutdown = topicwire::StartService(
      argc, argv, "ingest",
      "ingest: accepts articles from publishers, journals them durably and hands them to "
      "classify workers");
  if (!shutdown.ok()) return 1;

  // SIGHUP reloads the allow-lists; blocked before any thread starts, like SIGTERM.
  int curve_reload_fd = -1;
  if (!absl::GetFlag(FLAGS_curve_secret_key_file).empty()) {
    absl::StatusOr<int> reload_fd = topicwire::curve::BlockSighupIntoFd();
    if (!reload_fd.ok()) return topicwire::ExitCode(reload_fd.status());
    curve_reload_fd = *reload_fd;
  }
  auto registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<topicwire::Readiness> readiness = topicwire::ingest::NewIngestReadiness();
  const topicwire::ingest::IngestOptions options{
      .publish_endpoint = absl::GetFlag(FLAGS_publish_endpoint),
      .work_endpoint = absl::GetFlag(FLAGS_work_endpoint),
      .commit_endpoint = absl::GetFlag(FLAGS_commit_endpoint),
      .admin_endpoint = absl::GetFlag(FLAGS_admin_endpoint),
      .journal_path = absl::GetFlag(FLAGS_journal),
      .max_article_bytes = absl::GetFlag(FLAGS_max_article_bytes),
      .max_articles_per_request = absl::GetFlag(FLAGS_max_articles_per_request),
      .max_frames_per_message = absl::GetFlag(FLAGS_max_frames_per_message),
      .redelivery_timeout = absl::GetFlag(FLAGS_redelivery_timeout),
      .heartbeat_interval = absl::GetFlag(FLAGS_heartbeat_interval),
      .dedup_window = absl::GetFlag(FLAGS_dedup_window),
      .dedup_window_bytes = absl::GetFlag(FLAGS_dedup_window_bytes),
      .dedup_window_age = absl::GetFlag(FLAGS_dedup_window_age),
      .max_pending = absl::GetFlag(FLAGS_max_pending),
      .max_in_flight = absl::GetFlag(FLAGS_max_in_flight),
      .max_attempts = absl::GetFlag(FLAGS_max_attempts),
      .max_journal_bytes = absl::GetFlag(FLAGS_max_journal_bytes),
      .fsync = absl::GetFlag(FLAGS_fsync),
      .linger_ms = absl::GetFlag(FLAGS_linger_ms),
      .max_queued_replies_per_publisher = absl::GetFlag(FLAGS_max_queued_replies_per_publisher),
      .registry = registry,
      .readiness = readiness,
      .curve = {.secret_key_file = absl::GetFlag(FLAGS_curve_secret_key_file),
                .allow_list_file = absl::GetFlag(FLAGS_curve_allow),
                .stage_allow_list_file = absl::GetFlag(FLAGS_curve_stage_allow),
                .admin_allow_list_file = absl::GetFlag(FLAGS_curve_admin_allow),
                .reload_fd = curve_reload_fd}};
  if (options.redelivery_timeout <= absl::ZeroDuration() ||
      options.heartbeat_interval <= absl::ZeroDuration() || options.max_pending <= 0 ||
      options.max_in_flight <= 0 || options.max_article_bytes <= 0 ||
      options.max_articles_per_request <= 0 || options.max_frames_per_message < 3 ||
      options.dedup_window < 0 || options.dedup_window_bytes < 0 ||
      options.dedup_window_age <= absl::ZeroDuration() || options.max_attempts == 0 ||
      options.max_journal_bytes < 0 || options.max_queued_replies_per_publisher <= 0) {
    spdlog::critical(
        "--redelivery_timeout, --heartbeat_interval, --max_pending, --max_in_flight, "
        "--max_article_bytes, --max_articles_per_request, --dedup_window_age, "
        "--max_queued_replies_per_publisher and "
        "--max_attempts must be positive, --max_frames_per_message at least 3 (a REQ "
        "publisher's message) and --dedup_window, --dedup_window_bytes, --max_journal_bytes not "
        "negative");
    return 1;
  }

  absl::StatusOr<std::unique_ptr<topicwire::HttpEndpoint>> http =
      topicwire::ServeProbes(absl::GetFlag(FLAGS_http_listen), registry, readiness);
  if (!http.ok()) return 1;

  zmq::context_t context(/*io_threads=*/1);
  return topicwire::ExitCode(topicwire::ingest::RunStage(context, options, shutdown->fd()));
}
