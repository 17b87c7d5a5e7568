// Time of one page of topic history in a store of 1,000 and of 1,000,000 articles (not a ctest:
// filling the large store takes a while). Prints both page times and their ratio:
//   build/bin/topicwire_sink_history_benchmark [DIR]
// DIR (default: a new directory under /tmp) holds the two stores; they are reused when present.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "sink/store.h"

namespace topicwire::sink {
namespace {

constexpr int kBatch = 10'000;
constexpr int kPages = 200;

// Every 10th article is on "ai", every 100th on "rare"; the rest on "space".
v1::TaggedArticle MakeArticle(int i) {
  v1::TaggedArticle article;
  article.mutable_article()->set_id(absl::StrCat("article-", i));
  article.mutable_article()->set_title(absl::StrCat("headline number ", i, " of the benchmark"));
  article.add_tags()->set_topic(i % 100 == 0 ? "rare" : i % 10 == 0 ? "ai" : "space");
  return article;
}

std::unique_ptr<SqliteStore> Fill(const std::string& path, int articles) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open({.path = path, .fsync = false});
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    std::exit(1);
  }
  for (int next = static_cast<int>((*store)->head_sequence()); next < articles;) {
    std::vector<v1::TaggedArticle> batch;
    for (int i = 0; i < kBatch && next < articles; ++i) batch.push_back(MakeArticle(next++));
    std::vector<const v1::TaggedArticle*> pointers;
    for (const v1::TaggedArticle& article : batch) pointers.push_back(&article);
    if (absl::Status s = (*store)->StoreBatch(pointers, absl::Now()).status(); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      std::exit(1);
    }
  }
  return *std::move(store);
}

// Mean time of one page of `articles` articles of `topic`, asked from the start and from the
// middle of the store in turn.
absl::Duration PageTime(SqliteStore& store, const std::string& topic, uint32_t articles) {
  HistoryQuery query;
  query.streams = {topic};
  query.max_articles = articles;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kPages; ++i) {
    query.after_sequence = (i % 2 == 0) ? 0 : store.head_sequence() / 2;
    absl::StatusOr<HistoryPage> page = store.ReadHistory(query);
    if (!page.ok() || page->copies.size() != articles) {
      std::fprintf(stderr, "no page of %s\n", topic.c_str());
      std::exit(1);
    }
  }
  return (absl::Now() - start) / kPages;
}

int Main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : absl::StrCat("/tmp/topicwire-history-bench-", getpid());
  std::filesystem::create_directories(dir);
  std::unique_ptr<SqliteStore> small = Fill(dir + "/1k.db", 1'000);
  std::unique_ptr<SqliteStore> large = Fill(dir + "/1m.db", 1'000'000);
  // Pages small enough to be full in the small store too (it holds 100 "ai" and 10 "rare").
  for (const auto& [topic, articles] : {std::pair<std::string, uint32_t>{"ai", 40}, {"rare", 4}}) {
    const absl::Duration small_page = PageTime(*small, topic, articles);
    const absl::Duration large_page = PageTime(*large, topic, articles);
    std::printf("topic %-4s page of %u: 1k articles %s, 1M articles %s, ratio %.2f\n",
                topic.c_str(), articles, absl::FormatDuration(small_page).c_str(),
                absl::FormatDuration(large_page).c_str(),
                absl::FDivDuration(large_page, small_page));
  }
  return 0;
}

}  // namespace
}  // namespace topicwire::sink

int main(int argc, char** argv) { return topicwire::sink::Main(argc, argv); }
