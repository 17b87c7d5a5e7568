// Throughput of Classifier::Tag on the sample feed with the default taxonomy (not a ctest):
//   build/bin/topicwire_classifier_benchmark
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "classify/classifier.h"
#include "classify/evaluation.h"
#include "tests/testing/test_util.h"

namespace topicwire::classify {
namespace {

void BM_TagSampleFeed(benchmark::State& state) {
  auto classifier = Classifier::FromFile(DefaultTaxonomyPath());
  auto feed = ReadLabelledJsonl(::topicwire::testing::SourceDir() + "/samples/feed.jsonl");
  if (!classifier.ok() || !feed.ok() || feed->empty()) {
    state.SkipWithError("cannot load the default taxonomy or samples/feed.jsonl");
    return;
  }
  size_t bytes = 0;
  size_t i = 0;
  for (auto _ : state) {
    const v1::Article& article = (*feed)[i++ % feed->size()].article;
    benchmark::DoNotOptimize((*classifier)->Tag(article));
    bytes += article.title().size() + article.body().size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_TagSampleFeed)->Threads(1)->Threads(2);

void BM_CompileDefaultTaxonomy(benchmark::State& state) {
  for (auto _ : state) {
    auto classifier = Classifier::FromFile(DefaultTaxonomyPath());
    if (!classifier.ok()) state.SkipWithError("cannot load the default taxonomy");
  }
}
BENCHMARK(BM_CompileDefaultTaxonomy)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace topicwire::classify

BENCHMARK_MAIN();
