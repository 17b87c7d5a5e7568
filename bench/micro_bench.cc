// Microbenchmarks of the per-article work of each stage (not a ctest; see README "Performance"):
//   build/bin/topicwire_micro_bench
// Tagging is reported next to a bare Vectorscan scan of the same text with the same compiled
// database, for each article mix of `topicwire bench` (bench/synthetic.h), and the tag/scan
// ratio of each mix is printed after the run.
#include <benchmark/benchmark.h>
#include <hs/hs.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/synthetic.h"
#include "classify/classifier.h"
#include "google/protobuf/arena.h"
#include "ingest/journal.h"
#include "proto/article.pb.h"
#include "proto/internal.pb.h"
#include "sink/store.h"

namespace topicwire::bench {
namespace {

constexpr size_t kArticleBytes = 3300;  // what `topicwire bench` publishes

const classify::Classifier* DefaultClassifier() {
  static const classify::Classifier* classifier = [] {
    auto loaded = classify::Classifier::FromFile(classify::DefaultTaxonomyPath());
    return loaded.ok() ? loaded->release() : nullptr;
  }();
  return classifier;
}

// Enough distinct articles of each mix that the news mix's share of topical articles (and so
// the tags per article) is close to what `topicwire bench` publishes.
constexpr int kArticlesPerMix = 1000;

const std::vector<v1::Article>& Articles(ArticleMix mix) {
  static const auto* by_mix = [] {
    auto* made = new std::map<ArticleMix, std::vector<v1::Article>>();
    for (ArticleMix m : {ArticleMix::kNews, ArticleMix::kDense}) {
      for (int n = 0; n < kArticlesPerMix; ++n) {
        (*made)[m].push_back(MakeSyntheticArticle("micro", n, kArticleBytes, m));
      }
    }
    return made;
  }();
  return by_mix->at(mix);
}

// The dense mix, for the benchmarks that need one representative article.
const std::vector<v1::Article>& Articles() { return Articles(ArticleMix::kDense); }

void BM_TagArticle(benchmark::State& state, ArticleMix mix) {
  const classify::Classifier* classifier = DefaultClassifier();
  if (classifier == nullptr) {
    state.SkipWithError("cannot load the default taxonomy");
    return;
  }
  // As a classify worker tags: onto an arena that is reset once per Dispatch (here once per
  // article). The worker moves the article in from the Dispatch; here it is copied.
  google::protobuf::ArenaOptions options;
  options.start_block_size = 64 << 10;
  options.max_block_size = 256 << 10;
  google::protobuf::Arena arena(options);
  const std::vector<v1::Article>& articles = Articles(mix);
  size_t i = 0;
  int64_t bytes = 0;
  int64_t tags = 0;
  int64_t matches = 0;
  int64_t tagged_bytes = 0;
  for (auto _ : state) {
    const v1::Article& article = articles[i++ % articles.size()];
    auto* tagged = google::protobuf::Arena::CreateMessage<v1::TaggedArticle>(&arena);
    *tagged->mutable_article() = article;
    classifier->AddTags(tagged->article(), *tagged);
    benchmark::DoNotOptimize(tagged->tags_size());
    if (i <= articles.size()) {  // each article once: what the mix looks like to sink
      state.PauseTiming();
      tags += tagged->tags_size();
      for (const v1::Tag& tag : tagged->tags()) matches += tag.evidence_size();
      tagged_bytes += static_cast<int64_t>(tagged->ByteSizeLong());
      state.ResumeTiming();
    }
    arena.Reset();
    bytes += static_cast<int64_t>(article.title().size() + article.body().size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(bytes);
  const double counted = static_cast<double>(std::min(i, articles.size()));
  state.counters["tags_per_article"] = static_cast<double>(tags) / counted;
  state.counters["matches_per_article"] = static_cast<double>(matches) / counted;
  state.counters["tagged_bytes"] = static_cast<double>(tagged_bytes) / counted;
}
BENCHMARK_CAPTURE(BM_TagArticle, news, ArticleMix::kNews)->UseRealTime();
BENCHMARK_CAPTURE(BM_TagArticle, dense, ArticleMix::kDense)->UseRealTime();

int CountMatch(unsigned int, unsigned long long, unsigned long long, unsigned int,  // NOLINT
               void* context) {
  ++*static_cast<int*>(context);
  return 0;
}

// The floor under tagging: the same database over the same title and body, matches only counted.
void BM_RawVectorscanScan(benchmark::State& state, ArticleMix mix) {
  const classify::Classifier* classifier = DefaultClassifier();
  if (classifier == nullptr) {
    state.SkipWithError("cannot load the default taxonomy");
    return;
  }
  hs_scratch_t* scratch = nullptr;
  if (hs_alloc_scratch(classifier->database(), &scratch) != HS_SUCCESS) {
    state.SkipWithError("hs_alloc_scratch failed");
    return;
  }
  const std::vector<v1::Article>& articles = Articles(mix);
  size_t i = 0;
  int64_t bytes = 0;
  int matches = 0;
  for (auto _ : state) {
    const v1::Article& article = articles[i++ % articles.size()];
    for (const std::string* text : {&article.title(), &article.body()}) {
      hs_scan(classifier->database(), text->data(), static_cast<unsigned>(text->size()), 0, scratch,
              CountMatch, &matches);
      bytes += static_cast<int64_t>(text->size());
    }
  }
  benchmark::DoNotOptimize(matches);
  hs_free_scratch(scratch);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(bytes);
}
BENCHMARK_CAPTURE(BM_RawVectorscanScan, news, ArticleMix::kNews)->UseRealTime();
BENCHMARK_CAPTURE(BM_RawVectorscanScan, dense, ArticleMix::kDense)->UseRealTime();

// What a worker sends sink for one article: the article with its tags.
v1::Delivery MakeDelivery() {
  v1::Delivery delivery;
  delivery.set_journal_seq(12345);
  if (DefaultClassifier() != nullptr) {
    *delivery.mutable_tagged() = DefaultClassifier()->Tag(Articles()[0]);
  } else {
    *delivery.mutable_tagged()->mutable_article() = Articles()[0];
  }
  return delivery;
}

void BM_EncodeTaggedArticle(benchmark::State& state) {
  const v1::Delivery delivery = MakeDelivery();
  std::string bytes;
  for (auto _ : state) {
    delivery.SerializeToString(&bytes);
    benchmark::DoNotOptimize(bytes.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_EncodeTaggedArticle);

void BM_DecodeTaggedArticle(benchmark::State& state) {
  const std::string bytes = MakeDelivery().SerializeAsString();
  v1::Delivery decoded;
  for (auto _ : state) {
    decoded.ParseFromString(bytes);
    benchmark::DoNotOptimize(decoded.journal_seq());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_DecodeTaggedArticle);

// An empty directory for one benchmark's database, removed with everything in it at the end of
// the scope. Declare it before the database, so that the database closes first.
class ScratchDirectory {
 public:
  explicit ScratchDirectory(const std::string& name)
      : path_((std::filesystem::temp_directory_path() /
               absl::StrCat("topicwire-micro-", name, "-", getpid()))
                  .string()) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDirectory() { std::filesystem::remove_all(path_); }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One group commit of state.range(0) articles under the default durability (fsync before
// returning), as ingest does for everything that arrived in one poll wake-up.
void BM_JournalAppend(benchmark::State& state) {
  const ScratchDirectory dir("journal");
  auto journal = ingest::SqliteJournal::Open(dir.path() + "/journal.db", {.fsync = true});
  if (!journal.ok()) {
    state.SkipWithError(journal.status().ToString().c_str());
    return;
  }
  const std::string serialized = Articles()[0].SerializeAsString();
  int64_t n = 0;
  for (auto _ : state) {
    std::vector<ingest::NewRecord> records;
    for (int64_t i = 0; i < state.range(0); ++i) {
      records.push_back(
          {.article_id = absl::StrCat("journal-", n++), .serialized_article = serialized});
    }
    if (!(*journal)->Append(records, absl::Now()).ok()) {
      state.SkipWithError("append failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_JournalAppend)->Arg(1)->Arg(32)->Arg(512)->UseRealTime();

// One store transaction of state.range(0) tagged articles, fsync'd, as sink's stage opens it.
void BM_StoreInsert(benchmark::State& state) {
  const ScratchDirectory dir("store");
  auto store = sink::SqliteStore::Open({.path = dir.path() + "/store.db", .fsync = true});
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  const v1::TaggedArticle tagged = MakeDelivery().tagged();
  int64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();  // building the batch is the worker's and the wire's work, not the store's
    std::vector<v1::TaggedArticle> batch(static_cast<size_t>(state.range(0)), tagged);
    std::vector<const v1::TaggedArticle*> pointers;
    for (v1::TaggedArticle& article : batch) {
      article.mutable_article()->set_id(absl::StrCat("store-", n++));
      pointers.push_back(&article);
    }
    state.ResumeTiming();
    if (!(*store)->StoreBatch(pointers, absl::Now()).ok()) {
      state.SkipWithError("store failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_StoreInsert)->Arg(1)->Arg(32)->Arg(512)->UseRealTime();

// Remembers each run's items per second so that main() can print the tagging ratio.
class RateReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      auto rate = run.counters.find("items_per_second");
      if (rate != run.counters.end()) rates_[run.benchmark_name()] = rate->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  double Rate(const std::string& name) const {
    auto it = rates_.find(name);
    return it == rates_.end() ? 0 : it->second;
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace
}  // namespace topicwire::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  topicwire::bench::RateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  for (const char* mix : {"news", "dense"}) {
    const double tag = reporter.Rate(absl::StrCat("BM_TagArticle/", mix, "/real_time"));
    const double scan = reporter.Rate(absl::StrCat("BM_RawVectorscanScan/", mix, "/real_time"));
    if (tag > 0 && scan > 0) {
      std::printf("tagging / raw Vectorscan scan of the same text, %s mix: %.2f (target >= 0.50)\n",
                  mix, tag / scan);
    }
  }
  benchmark::Shutdown();
  return 0;
}
