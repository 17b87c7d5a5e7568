// The synthetic articles `topicwire bench` and the micro benchmarks publish and tag.
#ifndef TOPICWIRE_BENCH_SYNTHETIC_H_
#define TOPICWIRE_BENCH_SYNTHETIC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/article.pb.h"

namespace topicwire::bench {

// What the synthetic articles read like.
enum class ArticleMix {
  // Ordinary news prose (markets, weather, sport, politics, local news, culture). About 6 in 10
  // articles mention a technology topic of the default taxonomy (23% of all articles two), each
  // in two sentences (and sometimes the headline), so that tags per article (~0.85) and evidence
  // per tag come close to the labelled dev set's (0.84).
  kNews,
  // A bag of technology words: ~6.2 tags and ~62 term matches per article, each published copy
  // ~6.5 KB. A worst case for tagging and for sink, which publishes one copy per tag.
  kDense,
};

// "news" or "dense"; kInvalidArgument naming both for anything else.
absl::StatusOr<ArticleMix> ParseArticleMix(absl::string_view name);
// The name ParseArticleMix accepts.
std::string ArticleMixName(ArticleMix mix);

// Builds article number `n` of a run: deterministic text of the given mix, about `bytes`
// serialized (title, body and metadata; at least the sentences that carry its topics).
v1::Article MakeSyntheticArticle(const std::string& run_id, int64_t n, size_t bytes,
                                 ArticleMix mix);

// The topics (default taxonomy ids) that article `n` of the news mix is written about, in the
// order it mentions them; empty for most articles.
std::vector<std::string> NewsTopicsOf(int64_t n);

}  // namespace topicwire::bench

#endif  // TOPICWIRE_BENCH_SYNTHETIC_H_
