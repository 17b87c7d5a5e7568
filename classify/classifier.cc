#include "classify/classifier.h"

#include <hs/hs.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "spdlog/spdlog.h"

#ifndef TOPICWIRE_CLASSIFY_SOURCE_TAXONOMY
#define TOPICWIRE_CLASSIFY_SOURCE_TAXONOMY "classify/taxonomy/default.textproto"
#endif

namespace topicwire::classify {
namespace {

// One raw Vectorscan hit in one field.
struct Hit {
  unsigned pattern = 0;
  unsigned long long from = 0;
  unsigned long long to = 0;
};

int OnMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int /*flags*/,
            void* context) {
  static_cast<std::vector<Hit>*>(context)->push_back(Hit{id, from, to});
  return 0;  // keep scanning
}

// A hit resolved to its term, in one field.
struct TermMatch {
  int topic = 0;
  int term = 0;
  bool is_exclusion = false;
  v1::TextField field = v1::TEXT_FIELD_UNSPECIFIED;
  uint32_t start = 0;
  uint32_t end = 0;
  bool counted = true;
};

bool Contains(const TermMatch& outer, const TermMatch& inner) {
  return outer.field == inner.field && outer.start <= inner.start && inner.end <= outer.end;
}

// A stable fingerprint of the taxonomy for version strings (FNV-1a over the deterministic
// serialization).
std::string Fingerprint(const v1::Taxonomy& taxonomy) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    taxonomy.SerializeToCodedStream(&coded);
  }
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return absl::StrFormat("%016x", hash);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Classifier>> Classifier::FromFile(const std::string& path) {
  absl::StatusOr<TaxonomySpec> spec = LoadTaxonomyFile(path);
  if (!spec.ok()) return spec.status();
  return FromSpec(*std::move(spec));
}

absl::StatusOr<std::unique_ptr<Classifier>> Classifier::FromText(const std::string& text,
                                                                 const std::string& source_name) {
  absl::StatusOr<TaxonomySpec> spec = ParseTaxonomy(text, source_name);
  if (!spec.ok()) return spec.status();
  return FromSpec(*std::move(spec));
}

absl::StatusOr<std::unique_ptr<Classifier>> Classifier::FromSpec(TaxonomySpec spec) {
  const size_t count = spec.patterns.size();
  std::vector<const char*> expressions;
  std::vector<unsigned> flags;
  std::vector<unsigned> ids;
  expressions.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    expressions.push_back(spec.patterns[i].expression.c_str());
    flags.push_back(spec.patterns[i].flags);
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_database_t* database = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile_multi(expressions.data(), flags.data(), ids.data(), static_cast<unsigned>(count),
                       HS_MODE_BLOCK, nullptr, &database, &error) != HS_SUCCESS) {
    std::string message = error != nullptr ? error->message : "unknown error";
    const int expression = error != nullptr ? error->expression : -1;
    hs_free_compile_error(error);
    if (expression >= 0 && static_cast<size_t>(expression) < count) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.Describe(spec.patterns[expression]), " does not compile: ", message,
                       spec.patterns[expression].flags & HS_FLAG_SOM_LEFTMOST &&
                               absl::StrContains(message, "SOM")
                           ? " (the pattern is too complex to report where its match starts)"
                           : ""));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(spec.source_name, ": the taxonomy does not compile: ", message));
  }
  hs_scratch_t* scratch = nullptr;
  if (hs_alloc_scratch(database, &scratch) != HS_SUCCESS) {
    hs_free_database(database);
    return absl::ResourceExhaustedError("cannot allocate Vectorscan scratch space");
  }
  return std::unique_ptr<Classifier>(new Classifier(std::move(spec), database, scratch));
}

Classifier::Classifier(TaxonomySpec spec, hs_database* database, hs_scratch* prototype_scratch)
    : spec_(std::move(spec)), database_(database), prototype_scratch_(prototype_scratch) {
  version_ = spec_.taxonomy.version().empty()
                 ? absl::StrCat("unversioned-", Fingerprint(spec_.taxonomy))
                 : spec_.taxonomy.version();
  if (spec_.taxonomy.title_weight() > 0) title_weight_ = spec_.taxonomy.title_weight();
}

Classifier::~Classifier() {
  for (hs_scratch_t* scratch : free_scratch_) hs_free_scratch(scratch);
  hs_free_scratch(prototype_scratch_);
  hs_free_database(database_);
}

hs_scratch* Classifier::AcquireScratch() const {
  {
    std::lock_guard<std::mutex> lock(scratch_mutex_);
    if (!free_scratch_.empty()) {
      hs_scratch_t* scratch = free_scratch_.back();
      free_scratch_.pop_back();
      return scratch;
    }
  }
  hs_scratch_t* scratch = nullptr;
  if (hs_clone_scratch(prototype_scratch_, &scratch) != HS_SUCCESS) {
    spdlog::critical("cannot clone Vectorscan scratch space (out of memory)");
    std::abort();
  }
  return scratch;
}

void Classifier::ReleaseScratch(hs_scratch* scratch) const {
  std::lock_guard<std::mutex> lock(scratch_mutex_);
  free_scratch_.push_back(scratch);
}

v1::TaggedArticle Classifier::Tag(const v1::Article& article) const {
  v1::TaggedArticle tagged;
  *tagged.mutable_article() = article;
  AddTags(article, tagged);
  return tagged;
}

void Classifier::AddTags(const v1::Article& article, v1::TaggedArticle& tagged) const {
  tagged.set_taxonomy_version(version_);
  Score(article, /*reaching_threshold_only=*/true, *tagged.mutable_tags());
}

std::vector<v1::Tag> Classifier::ScoreTopics(const v1::Article& article) const {
  google::protobuf::RepeatedPtrField<v1::Tag> scored;
  Score(article, /*reaching_threshold_only=*/false, scored);
  return std::vector<v1::Tag>(std::make_move_iterator(scored.begin()),
                              std::make_move_iterator(scored.end()));
}

void Classifier::Score(const v1::Article& article, bool reaching_threshold_only,
                       google::protobuf::RepeatedPtrField<v1::Tag>& tags) const {
  std::vector<TermMatch> matches;
  std::vector<Hit> hits;
  hits.reserve(128);
  hs_scratch_t* scratch = AcquireScratch();
  for (const auto& [field, text] : {std::pair{v1::TEXT_FIELD_TITLE, &article.title()},
                                    std::pair{v1::TEXT_FIELD_BODY, &article.body()}}) {
    if (text->empty()) continue;
    hits.clear();
    // Vectorscan scans at most 4 GiB per call; articles are limited far below that by ingest.
    if (hs_scan(database_, text->data(), static_cast<unsigned>(text->size()), 0, scratch, OnMatch,
                &hits) != HS_SUCCESS) {
      spdlog::critical("Vectorscan scan failed on article {}", article.id());
      std::abort();
    }
    // One pattern can report several ends for one start, and a term's script variants can both
    // match: keep, per term, the earliest-starting longest non-overlapping matches.
    std::sort(hits.begin(), hits.end(), [this](const Hit& a, const Hit& b) {
      const PatternSpec& pa = spec_.patterns[a.pattern];
      const PatternSpec& pb = spec_.patterns[b.pattern];
      return std::tie(pa.topic_index, pa.is_exclusion, pa.term_index, a.from, b.to) <
             std::tie(pb.topic_index, pb.is_exclusion, pb.term_index, b.from, a.to);
    });
    size_t previous = matches.size();  // index of this field's previous match, if any
    for (const Hit& hit : hits) {
      const PatternSpec& pattern = spec_.patterns[hit.pattern];
      TermMatch match{.topic = pattern.topic_index,
                      .term = pattern.term_index,
                      .is_exclusion = pattern.is_exclusion,
                      .field = field,
                      .start = static_cast<uint32_t>(hit.from),
                      .end = static_cast<uint32_t>(hit.to)};
      if (previous < matches.size() && matches[previous].topic == match.topic &&
          matches[previous].is_exclusion == match.is_exclusion &&
          matches[previous].term == match.term && match.start < matches[previous].end) {
        continue;  // overlaps the previous match of the same term
      }
      previous = matches.size();
      matches.push_back(match);
    }
  }
  ReleaseScratch(scratch);

  // Each field's matches are sorted by topic; a stable sort groups the topics and keeps the title
  // before the body within each.
  std::stable_sort(matches.begin(), matches.end(),
                   [](const TermMatch& a, const TermMatch& b) { return a.topic < b.topic; });

  // First the scores alone; Tag messages (the costly part) only for the topics that are kept.
  struct Counted {
    const TermMatch* match;
    double contribution;
  };
  struct TopicScore {
    int topic = 0;
    double score = 0;
    double threshold = 1;
    size_t first = 0;  // [first, last) in `counted`
    size_t last = 0;
  };
  std::vector<Counted> counted;
  std::vector<TopicScore> scores;
  std::vector<TermMatch*> exclusions;
  std::vector<TermMatch*> terms;
  std::vector<int> times_counted;
  for (size_t group = 0; group < matches.size();) {
    const int topic_index = matches[group].topic;
    exclusions.clear();
    terms.clear();
    for (; group < matches.size() && matches[group].topic == topic_index; ++group) {
      TermMatch& match = matches[group];
      (match.is_exclusion ? exclusions : terms).push_back(&match);
    }
    if (terms.empty()) continue;
    for (TermMatch* term : terms) {
      for (const TermMatch* exclusion : exclusions) {
        if (Contains(*exclusion, *term)) term->counted = false;
      }
      for (const TermMatch* other : terms) {
        if (other == term || !Contains(*other, *term)) continue;
        const uint32_t other_length = other->end - other->start;
        const uint32_t length = term->end - term->start;
        // Inside a longer match, or an equal one of an earlier term: the other one speaks.
        if (other_length > length || (other_length == length && other->term < term->term)) {
          term->counted = false;
        }
      }
    }
    std::stable_sort(terms.begin(), terms.end(), [](const TermMatch* a, const TermMatch* b) {
      return std::tie(a->field, a->start) < std::tie(b->field, b->start);
    });
    const v1::Topic& topic = spec_.taxonomy.topics(topic_index);
    times_counted.assign(topic.terms_size(), 0);
    TopicScore score{.topic = topic_index, .first = counted.size()};
    for (const TermMatch* match : terms) {
      if (!match->counted) continue;
      const v1::Term& term = topic.terms(match->term);
      const double weight = term.weight() > 0 ? term.weight() : 1.0;
      const double field_weight = match->field == v1::TEXT_FIELD_TITLE ? title_weight_ : 1.0;
      const int k = ++times_counted[match->term];
      const double contribution = weight * field_weight / k;
      score.score += contribution;
      counted.push_back(Counted{match, contribution});
    }
    score.last = counted.size();
    if (score.first == score.last) continue;
    score.threshold = topic.threshold() > 0                    ? topic.threshold()
                      : spec_.taxonomy.default_threshold() > 0 ? spec_.taxonomy.default_threshold()
                                                               : 1.0;
    // A small tolerance so that sums like 0.1 + 0.2 reach a 0.3 threshold.
    if (reaching_threshold_only && score.score + 1e-9 < score.threshold) continue;
    scores.push_back(score);
  }
  std::stable_sort(scores.begin(), scores.end(), [this](const TopicScore& a, const TopicScore& b) {
    if (a.score != b.score) return a.score > b.score;
    return spec_.taxonomy.topics(a.topic).id() < spec_.taxonomy.topics(b.topic).id();
  });

  tags.Reserve(tags.size() + static_cast<int>(scores.size()));
  for (const TopicScore& score : scores) {
    const v1::Topic& topic = spec_.taxonomy.topics(score.topic);
    v1::Tag* tag = tags.Add();
    tag->set_topic(topic.id());
    tag->set_score(score.score);
    tag->mutable_evidence()->Reserve(static_cast<int>(score.last - score.first));
    for (size_t i = score.first; i < score.last; ++i) {
      const TermMatch& match = *counted[i].match;
      const v1::Term& term = topic.terms(match.term);
      const std::string& text =
          match.field == v1::TEXT_FIELD_TITLE ? article.title() : article.body();
      v1::Evidence* evidence = tag->add_evidence();
      evidence->set_term(term.regex().empty() ? term.text() : term.regex());
      evidence->set_matched_text(text.data() + match.start, match.end - match.start);
      evidence->set_field(match.field);
      evidence->set_start(match.start);
      evidence->set_end(match.end);
      evidence->set_contribution(counted[i].contribution);
    }
    tag->set_threshold(score.threshold);
    tag->set_label_en(topic.label_en());
    tag->set_label_zh(topic.label_zh());
    tag->set_uri(topic.uri().empty() ? spec_.taxonomy.uri_prefix() + topic.id() : topic.uri());
    tag->set_iptc_parent(topic.iptc_parent());
  }
}

std::string DefaultTaxonomyPath() {
  std::error_code error;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    const std::filesystem::path installed =
        exe.parent_path().parent_path() / "share" / "topicwire" / "taxonomy" / "default.textproto";
    if (std::filesystem::exists(installed, error)) return installed.string();
  }
  return TOPICWIRE_CLASSIFY_SOURCE_TAXONOMY;
}

}  // namespace topicwire::classify
