// Classifier: tags articles with the topics of a taxonomy, using one Vectorscan database compiled
// from every term and exclusion of every topic.
#ifndef TOPICWIRE_CLASSIFY_CLASSIFIER_H_
#define TOPICWIRE_CLASSIFY_CLASSIFIER_H_

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
  // it reaches its threshold; sorted by score. For explaining misses (see evaluation.h).
  std::vector<v1::Tag> ScoreTopics(const v1::Article& article) const;

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

  // Scores every topic with a counted match (only those reaching their threshold when
  // `reaching_threshold_only`) and appends them to `tags`, sorted as Tag() sorts them.
  void Score(const v1::Article& article, bool reaching_threshold_only,
             google::protobuf::RepeatedPtrField<v1::Tag>& tags) const;

  hs_scratch* AcquireScratch() const;
  void ReleaseScratch(hs_scratch* scratch) const;

  TaxonomySpec spec_;
  std::string version_;
  double title_weight_ = 2;
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
