// Classifier: tags articles with the topics of a taxonomy, using one Vectorscan database compiled
// from every term and exclusion of every topic.
#ifndef TOPICWIRE_CLASSIFY_CLASSIFIER_H_
#define TOPICWIRE_CLASSIFY_CLASSIFIER_H_

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "classify/taxonomy.h"
#include "proto/article.pb.h"
#include "proto/taxonomy.pb.h"

struct hs_database;
struct hs_scratch;

namespace topicwire::classify {

namespace classifier_internal {

// One context word of a sense rule, ready for a plain byte search.
struct ContextWord {
  std::string text;      // lower-cased when `caseless`
  bool caseless = true;  // ASCII case folding
  bool whole_word = true;
};

// A SenseRule compiled for the hot path: no regexes, no allocation per match.
struct CompiledSense {
  bool is_veto = false;
  v1::SenseScope scope = v1::SENSE_SCOPE_NEAR;
  int window = 40;
  std::vector<ContextWord> words;
  std::array<bool, 256> first_bytes{};  // bytes a word can start with (both cases if caseless)
};

struct CompiledAboutness {
  int min_distinct_terms = 0;
  int min_sentences = 0;
  int lead_chars = 0;
  double min_score = 0;
  bool enabled() const {
    return min_distinct_terms > 0 || min_sentences > 0 || lead_chars > 0 || min_score > 0;
  }
};

}  // namespace classifier_internal

// Scoring, for one article and one topic:
//   * Each match contributes weight(term) x (title_weight when in the title, else 1).
//   * The k-th match of the same term (k = 1, 2, ...; title matches first, then body, each in
//     text order) contributes 1/k of that, so repeating one word raises the score only
//     logarithmically while several different terms add up fully.
//   * A term match that lies inside a match of another term of the same topic ("quantum" inside
//     "quantum computing") or inside an exclusion of the topic ("quantum leap") does not count.
//   * The topic is tagged when the sum reaches its threshold. Tags are sorted by score, highest
//     first (ties by topic id).
// Thread-safety: Tag() may be called from many threads at once. Each call borrows a Vectorscan
// scratch from a small pool guarded by a mutex (cloning a new one when all are in use).
class Classifier {
 public:
  // Loads, validates and compiles the taxonomy file at `path`. Fails naming the file, line and
  // term when anything is wrong (see ParseTaxonomy), including a regex that does not compile.
  static absl::StatusOr<std::unique_ptr<Classifier>> FromFile(const std::string& path);
  // Same for taxonomy text; `source_name` names it in error messages.
  static absl::StatusOr<std::unique_ptr<Classifier>> FromText(
      const std::string& text, const std::string& source_name = "<taxonomy>");
  // Compiles an already parsed taxonomy.
  static absl::StatusOr<std::unique_ptr<Classifier>> FromSpec(TaxonomySpec spec);

  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;
  ~Classifier();

  // Tags `article` (title and body). Sets `article`, `tags` and `taxonomy_version`; leaves the
  // timestamps to the caller. Pure: the same article always gets the same tags.
  v1::TaggedArticle Tag(const v1::Article& article) const;

  // Like Tag(), but adds the tags and taxonomy_version to `tagged` and leaves its article alone,
  // so that a caller can move the article in instead of copying it, and build `tagged` on an
  // Arena. REQUIRES: `tagged` has no tags yet.
  void AddTags(const v1::Article& article, v1::TaggedArticle& tagged) const;

  // Every topic with at least one counted match, scored as Tag() scores it but whether or not
  // it reaches its threshold or passes the aboutness gate; sorted by score. For explaining misses
  // (see evaluation.h).
  std::vector<v1::Tag> ScoreTopics(const v1::Article& article) const;

  // A match that a sense rule of its term dropped.
  struct VetoedMatch {
    v1::Evidence evidence;  // contribution 0
    std::string rule;       // "veto \"Inc\" near: Mars Inc. the confectioner"
    int term = 0;           // index of the term in its topic
    int sense = 0;          // index of the rule in Term.senses
  };
  // One topic of one article as Tag() decided it, with the reasons.
  struct TopicDecision {
    v1::Tag tag;  // score, threshold and every counted match (even when not tagged)
    bool tagged = false;
    bool passes_threshold = false;
    bool passes_aboutness = false;
    bool yielded = false;  // reached threshold and gate, but gave way to another topic
    std::string why_not;   // when not tagged: the threshold or the aboutness condition that failed
    int yield_rule = -1;   // when yielded: index of the convention in Topic.yields_to
    std::vector<VetoedMatch> vetoed;
    // Index in the topic of the term behind each of tag.evidence, in the same order.
    std::vector<int> evidence_terms;
  };
  // Every topic with a counted or a vetoed match, sorted by score: what was tagged, what fell
  // below its threshold or the aboutness gate and why, and what the sense rules dropped. For
  // `tag --explain` and threshold sweeps; slower than Tag().
  std::vector<TopicDecision> Explain(const v1::Article& article) const;

  const v1::Taxonomy& taxonomy() const { return spec_.taxonomy; }
  // The taxonomy's `version`, or "unversioned-<hash of the taxonomy>" when it sets none.
  std::string version() const { return version_; }
  // How many Vectorscan patterns the taxonomy compiled into.
  size_t pattern_count() const { return spec_.patterns.size(); }
  // The compiled Vectorscan database Tag() scans with, so that a benchmark can compare tagging
  // with a bare scan of the same patterns (bench/micro_bench.cc).
  const hs_database* database() const { return database_; }

 private:
  Classifier(TaxonomySpec spec, hs_database* database, hs_scratch* prototype_scratch);

  // Scores every topic with a counted match (only those Tag() keeps when `tagged_only`) and
  // appends them to `tags`, sorted as Tag() sorts them. When `decisions` is set, also fills it
  // with every topic's decision (see Explain()).
  void Score(const v1::Article& article, bool tagged_only,
             google::protobuf::RepeatedPtrField<v1::Tag>& tags,
             std::vector<TopicDecision>* decisions = nullptr) const;

  hs_scratch* AcquireScratch() const;
  void ReleaseScratch(hs_scratch* scratch) const;

  TaxonomySpec spec_;
  std::string version_;
  double title_weight_ = 2;
  // [topic][term]: the term's sense rules, compiled; empty for most terms.
  std::vector<std::vector<std::vector<classifier_internal::CompiledSense>>> senses_;
  std::vector<classifier_internal::CompiledAboutness> aboutness_;  // [topic]
  // [topic]: (index of the topic it yields to, below_ratio, index in Topic.yields_to).
  struct CompiledYield {
    int topic = 0;
    double below_ratio = 0;
    bool by_sentence = false;
    int rule = 0;
  };
  std::vector<std::vector<CompiledYield>> yields_;
  bool has_yields_ = false;
  hs_database* database_ = nullptr;
  hs_scratch* prototype_scratch_ = nullptr;
  mutable std::mutex scratch_mutex_;
  mutable std::vector<hs_scratch*> free_scratch_;
};

// The bundled default taxonomy: share/topicwire/taxonomy/default.textproto next to the running
// executable's prefix (/proc/self/exe -> ../share/...), else the source tree's
// classify/taxonomy/default.textproto.
std::string DefaultTaxonomyPath();

}  // namespace topicwire::classify

#endif  // TOPICWIRE_CLASSIFY_CLASSIFIER_H_
