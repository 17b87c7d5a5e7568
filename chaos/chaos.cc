#include "chaos/chaos.h"

#include <poll.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "chaos/cluster.h"
#include "chaos/metrics_scrape.h"
#include "chaos/publisher.h"
#include "chaos/store_reader.h"
#include "chaos/verify.h"
#include "common/zmq_channel.h"
#include "proto/article.pb.h"
#include "spdlog/spdlog.h"

namespace topicwire::chaos {
namespace {

constexpr char kIngestRedeliveries[] = "topicwire_ingest_redeliveries_total";
constexpr char kSinkDuplicates[] = "topicwire_sink_articles_duplicate_total";

// A counter that restarts from zero with every incarnation of its process: the total is what
// the dead incarnations reached (as last seen) plus what the current one shows.
class CounterTally {
 public:
  void Observe(double current) { current_ = std::max(current_, current); }
  void IncarnationEnded() {
    finished_ += current_;
    current_ = 0;
  }
  uint64_t total() const { return static_cast<uint64_t>(finished_ + current_); }

 private:
  double finished_ = 0;
  double current_ = 0;
};

// Receives every copy sink publishes, on its own thread with its own SUB socket.
class LiveSubscriber {
 public:
  LiveSubscriber(zmq::context_t& context, std::string endpoint)
      : context_(context), endpoint_(std::move(endpoint)), thread_([this] { Loop(); }) {}
  ~LiveSubscriber() { Stop(); }

  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  uint64_t count() const { return count_.load(); }
  std::vector<StreamCopy> Take() {
    absl::MutexLock lock(&mutex_);
    return std::move(copies_);
  }

 private:
  void Loop() {
    zmq::socket_t socket(context_, zmq::socket_type::sub);
    if (absl::Status s = ConfigureSocket(socket, 0); !s.ok()) {
      spdlog::error("live subscriber: {}", s.ToString());
      return;
    }
    socket.set(zmq::sockopt::rcvhwm, 0);  // no limit: a dropped copy would look like a loss
    socket.set(zmq::sockopt::subscribe, "");
    if (absl::Status s = Connect(socket, endpoint_); !s.ok()) {
      spdlog::error("live subscriber: {}", s.ToString());
      return;
    }
    while (!stop_.load()) {
      std::vector<zmq::pollitem_t> items = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
      absl::StatusOr<int> ready = Poll(items, absl::Milliseconds(100));
      if (!ready.ok() || *ready == 0) continue;
      while (true) {
        Frames frames;
        absl::StatusOr<bool> got = RecvFrames(socket, frames, /*dont_wait=*/true);
        if (!got.ok() || !*got) break;
        v1::TaggedArticle copy;
        if (frames.size() != 2 || !ParseFrame(frames[1], copy).ok()) {
          spdlog::warn("live subscriber: a stream message that is not [topic][TaggedArticle]");
          continue;
        }
        absl::MutexLock lock(&mutex_);
        copies_.push_back(
            {copy.article().id(), copy.sequence(), copy.stream(), copy.stream_sequence()});
        count_.fetch_add(1);
      }
    }
  }

  zmq::context_t& context_;
  const std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> count_{0};
  absl::Mutex mutex_;
  std::vector<StreamCopy> copies_ ABSL_GUARDED_BY(mutex_);
  std::thread thread_;
};

// Everything the killer thread and the main thread share about the stages.
struct ChaosState {
  Cluster* cluster = nullptr;
  ChaosReport::Chaos figures;
  CounterTally redeliveries;
  CounterTally sink_duplicates;
  std::atomic<uint64_t> kills{0};

  void Observe() {
    if (absl::StatusOr<double> value =
            ScrapeMetric(cluster->ingest_http_port(), kIngestRedeliveries);
        value.ok()) {
      redeliveries.Observe(*value);
    }
    if (absl::StatusOr<double> value = ScrapeMetric(cluster->sink_http_port(), kSinkDuplicates);
        value.ok()) {
      sink_duplicates.Observe(*value);
    }
  }
  void Ended(const std::string& stage) {
    if (stage == "ingest") redeliveries.IncarnationEnded();
    if (stage == "sink") sink_duplicates.IncarnationEnded();
  }
  void RestartExited() {
    for (std::string& exit : cluster->RestartExited()) {
      Ended(exit.substr(0, exit.find(':')));
      figures.set_restarts(figures.restarts() + 1);
      *figures.add_unexpected_exits() = std::move(exit);
    }
  }
};

// Kills random stages at random times until `stop` is notified; every killed stage is running
// again when it returns.
void KillLoop(const Options& options, uint64_t seed, ChaosState& state, absl::Notification& stop) {
  std::mt19937_64 random(seed);
  std::exponential_distribution<double> gap(1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const std::vector<std::string> stages = state.cluster->StageNames();
  std::vector<std::string> workers(stages.begin() + 2, stages.end());
  while (true) {
    const double factor = std::clamp(gap(random), 0.1, 4.0);
    if (stop.WaitForNotificationWithTimeout(options.kill_interval * factor)) break;
    state.RestartExited();
    state.Observe();

    // One stage, or sometimes two, of a uniformly chosen kind each: stages die and come back in
    // every order.
    auto pick = [&] {
      const int kind = static_cast<int>(random() % 3);
      if (kind == 0) return std::string("ingest");
      if (kind == 1) return std::string("sink");
      return workers[random() % workers.size()];
    };
    std::vector<std::string> victims = {pick()};
    if (unit(random) < 0.25) {
      std::string second = pick();
      if (second != victims[0]) victims.push_back(second);
    }
    for (const std::string& victim : victims) {
      if (absl::Status killed = state.cluster->Kill(victim); !killed.ok()) {
        spdlog::error("cannot kill {}: {}", victim, killed.ToString());
        continue;
      }
      state.Ended(victim);
      (*state.figures.mutable_kills())[Cluster::KindOf(victim)] += 1;
      state.kills.fetch_add(1);
      spdlog::info("kill -9 {}", victim);
    }
    std::shuffle(victims.begin(), victims.end(), random);
    for (const std::string& victim : victims) {
      absl::SleepFor(options.max_downtime * unit(random));  // the outage itself, on purpose
      if (absl::Status started = state.cluster->Start(victim); !started.ok()) {
        spdlog::error("cannot restart {}: {}", victim, started.ToString());
        continue;
      }
      state.figures.set_restarts(state.figures.restarts() + 1);
    }
  }
}

// Waits up to `timeout` for `fd` to become readable.
bool Readable(int fd, absl::Duration timeout) {
  pollfd item = {fd, POLLIN, 0};
  return ::poll(&item, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) > 0;
}

absl::StatusOr<std::string> MakeDataDir(const Options& options, bool& created) {
  created = false;
  if (!options.data_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(options.data_dir, error);
    if (error) {
      return absl::UnavailableError(
          absl::StrCat("cannot create --data_dir ", options.data_dir, ": ", error.message()));
    }
    if (std::filesystem::exists(options.data_dir + "/sink/store.db") ||
        std::filesystem::exists(options.data_dir + "/ingest/journal.db")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--data_dir ", options.data_dir,
          " holds a journal or store from an earlier run; the check needs empty ones"));
    }
    return options.data_dir;
  }
  std::string pattern =
      (std::filesystem::temp_directory_path() / "topicwire-chaos-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::UnavailableError("cannot create a temporary directory for --data_dir");
  }
  created = true;
  return pattern;
}

// The first few examples, for one line of text (the JSON report has up to 20).
std::string ExampleList(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  std::vector<std::string> first(ids.begin(), ids.begin() + std::min(ids.size(), 5));
  return absl::StrCat(absl::StrJoin(first, ", "), ids.size() > 5 ? ", ..." : "");
}

}  // namespace

absl::StatusOr<ChaosReport> Run(zmq::context_t& context, const Options& options, int shutdown_fd) {
  const absl::Time start = absl::Now();
  for (const char* binary : {"ingest", "classify", "sink"}) {
    const std::string path = absl::StrCat(options.bin_dir, "/", binary);
    if (!std::filesystem::exists(path)) {
      return absl::FailedPreconditionError(
          absl::StrCat("no ", binary, " binary at ", path, "; pass --bin_dir"));
    }
  }
  if (options.workers < 1) return absl::InvalidArgumentError("--workers must be at least 1");
  const uint64_t seed = options.seed != 0 ? options.seed : std::random_device{}();
  bool created_data_dir = false;
  absl::StatusOr<std::string> data_dir = MakeDataDir(options, created_data_dir);
  if (!data_dir.ok()) return data_dir.status();
  int base_port = options.base_port;
  if (base_port == 0) {
    absl::StatusOr<int> free = FindFreePortRange(topology::PortPlan::PortCount(options.workers));
    if (!free.ok()) return free.status();
    base_port = *free;
  }

  ChaosReport report;
  report.set_data_dir(*data_dir);
  const absl::Duration reserve = std::min(absl::Seconds(20), options.timeout / 10);
  const absl::Time publish_deadline = start + options.timeout * 0.6;
  const absl::Time kill_deadline = start + options.timeout * 0.7;
  const absl::Time drain_deadline = start + options.timeout - reserve;

  Cluster cluster({.bin_dir = options.bin_dir,
                   .data_dir = *data_dir,
                   .base_port = base_port,
                   .workers = options.workers,
                   .redelivery_timeout = options.redelivery_timeout,
                   .log_level = options.stage_log_level});
  spdlog::info("seed {}, base port {}, data and logs in {}", seed, base_port, *data_dir);
  if (absl::Status started = cluster.StartAll(); !started.ok()) return started;
  LiveSubscriber live(context, cluster.stream_endpoint());

  ChaosState state;
  state.cluster = &cluster;
  absl::Notification stop_killing;
  std::thread killer;
  if (options.kill_interval > absl::ZeroDuration()) {
    killer = std::thread([&] { KillLoop(options, seed, state, stop_killing); });
  }

  // Publish.
  PublisherOptions publisher{.endpoint = cluster.publish_endpoint(),
                             .articles = options.articles,
                             .id_prefix = absl::StrCat("chaos-", seed, "-"),
                             .batch = options.batch,
                             .window = options.window,
                             .resend_after = options.resend_after,
                             .article_bytes = options.article_bytes,
                             .seed = seed,
                             .rate = options.rate};
  absl::StatusOr<PublishResult> published = Publish(
      context, publisher, publish_deadline, shutdown_fd,
      [&](const ChaosReport::Publishing& figures) {
        spdlog::info("accepted {}/{} (resends {}, busy {}), kills {}", figures.accepted(),
                     figures.articles(), figures.resends(), figures.busy(), state.kills.load());
      });
  const absl::Time published_at = absl::Now();
  if (!published.ok()) {
    stop_killing.Notify();
    if (killer.joinable()) killer.join();
    return published.status();
  }
  *report.mutable_publishing() = published->figures;
  const absl::flat_hash_set<std::string>& accepted = published->accepted;
  spdlog::info("publishing done: {} accepted, {} unanswered; {} kills", accepted.size(),
               published->figures.unanswered(), state.kills.load());

  // How many accepted ids the store lacks, reading only the rows added since the last call.
  std::unique_ptr<StoreReader> reader;
  absl::flat_hash_set<std::string> stored;
  auto missing_from_store = [&]() -> uint64_t {
    if (reader == nullptr) {
      absl::StatusOr<std::unique_ptr<StoreReader>> opened = StoreReader::Open(cluster.store_path());
      if (!opened.ok()) return accepted.size();
      reader = *std::move(opened);
    }
    std::vector<std::pair<std::string, uint64_t>> rows;
    if (absl::Status read = reader->ReadNewArticles(rows); !read.ok()) {
      spdlog::warn("{}", read.ToString());
    }
    for (auto& [id, sequence] : rows) stored.insert(std::move(id));
    uint64_t missing = 0;
    for (const std::string& id : accepted) missing += !stored.contains(id);
    return missing;
  };

  // The stages usually lag behind the publisher: keep killing while they still have work, so
  // that the kills hit the whole pipeline and not only ingest's intake, up to a time bound.
  bool interrupted = Readable(shutdown_fd, absl::ZeroDuration());
  uint64_t missing = accepted.size();
  absl::Time next_log = absl::Now() + absl::Seconds(5);
  while (killer.joinable() && !interrupted && absl::Now() < kill_deadline &&
         (missing = missing_from_store()) > 0) {
    if (absl::Now() >= next_log) {
      next_log = absl::Now() + absl::Seconds(5);
      spdlog::info("still killing: {} accepted articles not stored yet, kills {}", missing,
                   state.kills.load());
    }
    interrupted = Readable(shutdown_fd, absl::Milliseconds(200));
  }
  stop_killing.Notify();
  if (killer.joinable()) killer.join();
  const absl::Time calm_at = absl::Now();
  spdlog::info("killing stopped after {} kills; waiting for the store", state.kills.load());
  const absl::Time killing_stopped_at = absl::Now();

  // Drain: no more kills; wait until the store holds every accepted id, restarting any stage
  // that dies on its own.
  while (!interrupted && absl::Now() < drain_deadline) {
    state.RestartExited();
    if ((missing = missing_from_store()) == 0) break;
    if (absl::Now() >= next_log) {
      next_log = absl::Now() + absl::Seconds(5);
      spdlog::info("waiting for {} accepted articles to reach the store", missing);
    }
    interrupted = Readable(shutdown_fd, absl::Milliseconds(200));
  }
  const absl::Time drained_at = absl::Now();
  // The live copies of the last batches may still be on their way: wait until they stop coming.
  for (uint64_t seen = live.count(), rounds = 0; rounds < 30; ++rounds) {
    absl::SleepFor(absl::Milliseconds(100));
    if (live.count() == seen) break;
    seen = live.count();
  }

  state.Observe();
  ChaosReport::Delivery& delivery = *report.mutable_delivery();
  delivery.set_redeliveries(state.redeliveries.total());
  delivery.set_sink_duplicate_deliveries(state.sink_duplicates.total());
  // A stage restarted just before the kills stopped may not have installed its SIGTERM handling
  // yet (a sanitizer build starts slowly); stopping it then would count as an unclean stop.
  const absl::Duration settle = killing_stopped_at + absl::Seconds(3) - absl::Now();
  if (settle > absl::ZeroDuration()) absl::SleepFor(settle);
  for (std::string& unclean : cluster.StopAll(absl::Seconds(10))) {
    *state.figures.add_unclean_stops() = std::move(unclean);
  }
  *report.mutable_chaos() = state.figures;
  live.Stop();

  // Verify against the store as sink left it.
  VerifyInput input;
  input.accepted = accepted;
  input.live = live.Take();
  reader.reset();
  absl::StatusOr<std::unique_ptr<StoreReader>> final_reader =
      StoreReader::Open(cluster.store_path());
  if (final_reader.ok()) {
    absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> rows =
        (*final_reader)->ReadAllArticles();
    if (!rows.ok()) return rows.status();
    input.stored = *std::move(rows);
    absl::StatusOr<std::vector<StreamCopy>> copies = (*final_reader)->ReadAllCopies();
    if (!copies.ok()) return copies.status();
    input.history = *std::move(copies);
  } else if (!absl::IsNotFound(final_reader.status())) {
    return final_reader.status();
  }
  *report.mutable_verification() = Verify(input);

  const absl::Time end = absl::Now();
  report.set_elapsed_seconds(absl::ToDoubleSeconds(end - start));
  report.set_publish_seconds(absl::ToDoubleSeconds(published_at - start));
  report.set_killing_seconds(absl::ToDoubleSeconds(calm_at - start));
  report.set_drain_seconds(absl::ToDoubleSeconds(drained_at - calm_at));
  Judge(report);
  if (interrupted || Readable(shutdown_fd, absl::ZeroDuration())) {
    report.add_failures("stopped early by SIGINT/SIGTERM");
    report.set_passed(false);
  }
  if (report.passed() && created_data_dir && !options.keep_data) {
    std::error_code ignored;
    std::filesystem::remove_all(*data_dir, ignored);
    report.set_data_dir("");
  }
  return report;
}

void Judge(ChaosReport& report) {
  report.clear_failures();
  const ChaosReport::Verification& verification = report.verification();
  const ChaosReport::Publishing& publishing = report.publishing();
  if (verification.lost() > 0) {
    report.add_failures(absl::StrCat(verification.lost(),
                                     " accepted articles are not in the store, e.g. ",
                                     ExampleList(verification.lost_examples())));
  }
  if (verification.duplicated() > 0) {
    report.add_failures(absl::StrCat(verification.duplicated(),
                                     " articles were stored or published more than once, e.g. ",
                                     ExampleList(verification.duplicated_examples())));
  }
  for (const std::string& problem : verification.stream_problems()) report.add_failures(problem);
  if (publishing.unanswered() > 0) {
    report.add_failures(absl::StrCat(publishing.unanswered(),
                                     " articles got no answer from ingest before the deadline"));
  }
  if (publishing.rejected() > 0) {
    report.add_failures(absl::StrCat(publishing.rejected(), " valid articles were rejected"));
  }
  if (publishing.unexpected_duplicates() > 0) {
    report.add_failures(absl::StrCat(publishing.unexpected_duplicates(),
                                     " articles were answered DUPLICATE on their first send"));
  }
  for (const std::string& unclean : report.chaos().unclean_stops()) {
    report.add_failures("unclean stop: " + unclean);
  }
  report.set_passed(report.failures().empty());
}

std::string FormatReport(const ChaosReport& report) {
  const ChaosReport::Publishing& p = report.publishing();
  const ChaosReport::Chaos& c = report.chaos();
  const ChaosReport::Delivery& d = report.delivery();
  const ChaosReport::Verification& v = report.verification();
  std::vector<std::string> kills;
  uint64_t total_kills = 0;
  for (const char* kind : {"ingest", "classify", "sink"}) {
    const auto it = c.kills().find(kind);
    const uint64_t n = it == c.kills().end() ? 0 : it->second;
    total_kills += n;
    kills.push_back(absl::StrCat(kind, " ", n));
  }
  std::string text = absl::StrCat("topicwire-chaos: ", report.passed() ? "PASSED" : "FAILED", "\n");
  auto line = [&](absl::string_view name, const std::string& value) {
    absl::StrAppend(&text, "  ", name, std::string(24 - std::min<size_t>(name.size(), 23), ' '),
                    value, "\n");
  };
  line("articles", absl::StrCat(p.articles()));
  line("requests", absl::StrCat(p.requests(), " (article resends ", p.resends(), ")"));
  line("accepted",
       absl::StrCat(p.accepted(), " (DUPLICATE after resend ", p.accepted_as_duplicate(), ")"));
  line("busy / rejected", absl::StrCat(p.busy(), " / ", p.rejected()));
  line("unanswered", absl::StrCat(p.unanswered()));
  line("kills", absl::StrCat(total_kills, " (", absl::StrJoin(kills, ", "), ")"));
  line("restarts", absl::StrCat(c.restarts()));
  line("redeliveries", absl::StrCat(d.redeliveries(), " (ingest), ", d.sink_duplicate_deliveries(),
                                    " already stored at sink"));
  line("stored",
       absl::StrCat(v.stored(), " (not acknowledged ACCEPTED: ", v.stored_not_accepted(), ")"));
  line("live copies",
       absl::StrCat(v.live_copies(), " (filled from history ", v.filled_from_history(), ")"));
  line("lost", absl::StrCat(v.lost()));
  line("duplicated", absl::StrCat(v.duplicated()));
  line("elapsed", absl::StrFormat("%.1fs (publishing %.1fs, killing %.1fs, calm catch-up %.1fs)",
                                  report.elapsed_seconds(), report.publish_seconds(),
                                  report.killing_seconds(), report.drain_seconds()));
  if (!report.data_dir().empty()) line("data and logs", report.data_dir());
  for (const std::string& exit : c.unexpected_exits()) line("exited on its own", exit);
  for (const std::string& failure : report.failures()) line("FAILURE", failure);
  return text;
}

}  // namespace topicwire::chaos
