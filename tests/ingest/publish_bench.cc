// Measures ingest's publish path (validate, dedup lookup, group commit, reply) with and without
// fsync: one DEALER keeps `window` requests of `batch` articles in flight over TCP loopback.
// Not a test; run by hand:
//   topicwire_ingest_publish_bench [articles=20000] [batch=1] [window=64] [prefilled_ids=0]
// prefilled_ids committed ids are put in the dedup window first, to see how lookups scale.
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/shutdown.h"
#include "common/zmq_channel.h"
#include "ingest/ingest_stage.h"
#include "ingest/journal.h"
#include "proto/article.pb.h"
#include "spdlog/spdlog.h"
#include "tests/testing/test_util.h"

namespace topicwire::ingest {
namespace {

// Fills the journal's dedup window with `count` committed ids, in 100k-record transactions.
bool Prefill(const std::string& path, int count) {
  absl::StatusOr<std::unique_ptr<SqliteJournal>> journal =
      SqliteJournal::Open(path, {.fsync = false, .dedup_window = 10'000'000});
  if (!journal.ok()) return false;
  for (int done = 0; done < count;) {
    std::vector<NewRecord> records;
    std::vector<CommitMark> marks;
    for (int i = 0; i < 100'000 && done < count; ++i, ++done) {
      records.push_back({absl::StrCat("url-prefilled-", done), "x"});
    }
    absl::StatusOr<std::vector<uint64_t>> seqs = (*journal)->Append(records, absl::Now());
    if (!seqs.ok()) return false;
    for (size_t i = 0; i < seqs->size(); ++i) marks.emplace_back((*seqs)[i], records[i].article_id);
    if (!(*journal)->MarkCommitted(marks).ok()) return false;
  }
  return true;
}

int Run(bool fsync, int articles, int batch, int window, int prefilled) {
  zmq::context_t context;
  absl::StatusOr<Shutdown> shutdown = Shutdown::Manual();
  if (!shutdown.ok()) return 1;
  IngestOptions options;
  const int port = testing::FreeLoopbackPortRange(3);
  options.publish_endpoint = absl::StrCat("tcp://127.0.0.1:", port);
  options.work_endpoint = absl::StrCat("tcp://127.0.0.1:", port + 1);
  options.commit_endpoint = absl::StrCat("tcp://127.0.0.1:", port + 2);
  options.journal_path = testing::MakeTempDir() + "/journal.db";
  if (prefilled > 0 && !Prefill(options.journal_path, prefilled)) return 1;
  options.fsync = fsync;
  options.max_pending = articles + 1;
  options.readiness = NewIngestReadiness();
  auto stage =
      std::async(std::launch::async, [&] { return RunStage(context, options, shutdown->fd()); });
  while (!options.readiness->Ready().ok()) absl::SleepFor(absl::Milliseconds(1));

  zmq::socket_t client(context, zmq::socket_type::dealer);
  if (!ConfigureSocket(client, 0).ok() || !Connect(client, options.publish_endpoint).ok()) return 1;
  const std::string body(1500, 'b');  // a typical news article
  const int requests = articles / batch;
  int sent = 0;
  int answered = 0;
  int accepted = 0;
  const absl::Time start = absl::Now();
  while (answered < requests) {
    while (sent < requests && sent - answered < window) {
      v1::PublishRequest request;
      for (int i = 0; i < batch; ++i) {
        v1::Article* article = request.add_articles();
        article->set_id(absl::StrCat("bench-", sent, "-", i));
        article->set_title(absl::StrCat("Article ", sent, "/", i));
        article->set_body(body);
      }
      if (!SendProto(client, request).ok()) return 1;
      ++sent;
    }
    Frames reply;
    if (!RecvFrames(client, reply).ok()) return 1;
    v1::PublishReply parsed;
    if (!ParseFrame(reply.back(), parsed).ok()) return 1;
    for (const auto& ack : parsed.acks()) accepted += ack.status() == v1::PublishAck::ACCEPTED;
    ++answered;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf(
      "fsync=%-5s batch=%d window=%d prefilled=%d: %d/%d accepted in %.2fs = %.0f articles/s\n",
      fsync ? "true" : "false", batch, window, prefilled, accepted, requests * batch, seconds,
      requests * batch / seconds);
  shutdown->Trigger();
  return stage.get().ok() ? 0 : 1;
}

}  // namespace
}  // namespace topicwire::ingest

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  const int articles = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int batch = argc > 2 ? std::atoi(argv[2]) : 1;
  const int window = argc > 3 ? std::atoi(argv[3]) : 64;
  const int prefilled = argc > 4 ? std::atoi(argv[4]) : 0;
  for (const bool fsync : {true, false}) {
    if (topicwire::ingest::Run(fsync, articles, batch, window, prefilled) != 0) return 1;
  }
  return 0;
}
