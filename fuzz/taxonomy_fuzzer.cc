// Fuzzes taxonomy loading (the text-format file classify reads with --taxonomy): ParseTaxonomy,
// then, for taxonomies small enough to compile quickly, the Vectorscan compilation and one
// tagging pass over an article that contains the taxonomy's own terms, checking what Tag()
// promises about its evidence and its order.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "classify/classifier.h"
#include "classify/taxonomy.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_init.h"

namespace topicwire::classify {
namespace {

// Compiling is far slower than parsing; past these sizes the fuzzer only parses.
constexpr size_t kMaxCompiledTextBytes = 4096;
constexpr size_t kMaxCompiledPatterns = 64;

// An article whose title and body contain every term and exclusion text, so that matching,
// overlap removal and scoring all run.
v1::Article ArticleFor(const v1::Taxonomy& taxonomy) {
  v1::Article article;
  std::string body = "The AI lab's quantum-computing chip, 量子计算 and 人工智能; a quantum leap.";
  for (const v1::Topic& topic : taxonomy.topics()) {
    for (const v1::Term& term : topic.terms()) absl::StrAppend(&body, " ", term.text(), ".");
    for (const v1::Term& term : topic.exclusions()) absl::StrAppend(&body, " ", term.text());
  }
  article.set_title(body.substr(0, 120));
  article.set_body(body);
  return article;
}

void CheckTagged(const v1::Taxonomy& taxonomy, const v1::Article& article,
                 const v1::TaggedArticle& tagged) {
  absl::flat_hash_set<std::string> topic_ids;
  for (const v1::Topic& topic : taxonomy.topics()) topic_ids.insert(topic.id());
  absl::flat_hash_set<std::string> tagged_topics;
  for (int i = 0; i < tagged.tags_size(); ++i) {
    const v1::Tag& tag = tagged.tags(i);
    FUZZ_CHECK(topic_ids.contains(tag.topic()));
    FUZZ_CHECK(tagged_topics.insert(tag.topic()).second);  // one tag per topic
    FUZZ_CHECK(!tag.evidence().empty());
    if (std::isfinite(tag.score()) && std::isfinite(tag.threshold())) {
      FUZZ_CHECK(tag.score() + 1e-6 >= tag.threshold());
    }
    if (i > 0 && !std::isnan(tag.score()) && !std::isnan(tagged.tags(i - 1).score())) {
      FUZZ_CHECK(tagged.tags(i - 1).score() >= tag.score());
    }
    for (const v1::Evidence& evidence : tag.evidence()) {
      const std::string& field =
          evidence.field() == v1::TEXT_FIELD_TITLE ? article.title() : article.body();
      FUZZ_CHECK(evidence.field() == v1::TEXT_FIELD_TITLE ||
                 evidence.field() == v1::TEXT_FIELD_BODY);
      FUZZ_CHECK(evidence.start() <= evidence.end());
      FUZZ_CHECK(evidence.end() <= field.size());
      FUZZ_CHECK(evidence.matched_text() ==
                 field.substr(evidence.start(), evidence.end() - evidence.start()));
    }
  }
}

void TestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<TaxonomySpec> spec = ParseTaxonomy(text, "fuzz.textproto");
  if (!spec.ok()) {
    FUZZ_CHECK(spec.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!spec.status().message().empty());
    return;
  }
  FUZZ_CHECK(spec->taxonomy.topics_size() > 0);
  for (const PatternSpec& pattern : spec->patterns) {
    FUZZ_CHECK(pattern.topic_index >= 0 && pattern.topic_index < spec->taxonomy.topics_size());
    const v1::Topic& topic = spec->taxonomy.topics(pattern.topic_index);
    const int terms = pattern.is_exclusion ? topic.exclusions_size() : topic.terms_size();
    FUZZ_CHECK(pattern.term_index >= 0 && pattern.term_index < terms);
    FUZZ_CHECK(!spec->Describe(pattern).empty());
  }
  if (size > kMaxCompiledTextBytes || spec->patterns.size() > kMaxCompiledPatterns) return;

  const v1::Taxonomy taxonomy = spec->taxonomy;
  absl::StatusOr<std::unique_ptr<Classifier>> classifier = Classifier::FromSpec(*std::move(spec));
  if (!classifier.ok()) {
    // Only a regex Vectorscan refuses may fail here (or one too large for it).
    FUZZ_CHECK(!classifier.status().message().empty());
    return;
  }
  const v1::Article article = ArticleFor(taxonomy);
  const v1::TaggedArticle tagged = (*classifier)->Tag(article);
  CheckTagged(taxonomy, article, tagged);
  // Tag() is pure.
  FUZZ_CHECK(tagged.SerializeAsString() == (*classifier)->Tag(article).SerializeAsString());
}

}  // namespace
}  // namespace topicwire::classify

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  topicwire::classify::TestOneInput(data, size);
  return 0;
}
