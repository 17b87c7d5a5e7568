#include "classify/classifier.h"

#include <hs/hs.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
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

using classifier_internal::CompiledAboutness;
using classifier_internal::CompiledSense;
using classifier_internal::ContextWord;

bool IsWordByte(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Last bytes of the sentence terminators below, so that scans test one table entry per byte.
constexpr std::array<bool, 256> kTerminatorLastByte = [] {
  std::array<bool, 256> table{};
  for (unsigned char c : {'.', '!', '?', ';', '\n'}) table[c] = true;
  for (unsigned char c : {0x82, 0x81, 0x9F, 0x9B}) table[c] = true;
  return table;
}();

// True when a sentence terminator ends at byte `p` (its last byte): . ! ? ; and line breaks, and
// the full-width 。！？；. A '.' ends a sentence only before a space or the end, so "U.S." and
// "3.5" do not.
inline bool TerminatorEndsAt(const std::string& text, size_t p) {
  const auto b2 = static_cast<unsigned char>(text[p]);
  if (!kTerminatorLastByte[b2]) return false;
  if (b2 == '!' || b2 == '?' || b2 == ';' || b2 == '\n') return true;
  if (b2 == '.') return p + 1 == text.size() || absl::ascii_isspace(text[p + 1]);
  if (p < 2) return false;
  const auto b0 = static_cast<unsigned char>(text[p - 2]);
  const auto b1 = static_cast<unsigned char>(text[p - 1]);
  if (b0 == 0xE3 && b1 == 0x80 && b2 == 0x82) return true;                      // 。
  return b0 == 0xEF && b1 == 0xBC && (b2 == 0x81 || b2 == 0x9F || b2 == 0x9B);  // ！？；
}

// True when a sentence ends within text[from, to).
bool SentenceEndsWithin(const std::string& text, size_t from, size_t to) {
  for (size_t p = from; p < to; ++p) {
    if (TerminatorEndsAt(text, p)) return true;
  }
  return false;
}

// Start of the sentence holding byte `position`.
size_t SentenceStart(const std::string& text, size_t position) {
  for (size_t p = position; p > 0; --p) {
    if (TerminatorEndsAt(text, p - 1)) return p;
  }
  return 0;
}

// End (exclusive, after its terminator) of the sentence holding the byte before `position`.
size_t SentenceEnd(const std::string& text, size_t position) {
  for (size_t p = position; p < text.size(); ++p) {
    if (TerminatorEndsAt(text, p)) return p + 1;
  }
  return text.size();
}

// Ascending byte offsets just after each sentence terminator of `text`.
std::vector<uint32_t> SentenceEnds(const std::string& text) {
  std::vector<uint32_t> ends;
  for (size_t p = 0; p < text.size(); ++p) {
    if (TerminatorEndsAt(text, p)) ends.push_back(static_cast<uint32_t>(p + 1));
  }
  return ends;
}

// `position` moved back (forward) by up to `characters` UTF-8 code points.
size_t MoveBack(const std::string& text, size_t position, int characters) {
  for (int n = 0; n < characters && position > 0; ++n) {
    --position;
    while (position > 0 && IsContinuation(text[position])) --position;
  }
  return position;
}
size_t MoveForward(const std::string& text, size_t position, int characters) {
  for (int n = 0; n < characters && position < text.size(); ++n) {
    ++position;
    while (position < text.size() && IsContinuation(text[position])) ++position;
  }
  return position;
}

// True when `word` occurs at text[i]; word boundaries are judged on the whole text.
inline bool WordAt(const ContextWord& word, const std::string& text, size_t i, size_t end) {
  const size_t n = word.text.size();
  if (i + n > end) return false;
  for (size_t k = 0; k < n; ++k) {
    const char c = word.caseless ? absl::ascii_tolower(text[i + k]) : text[i + k];
    if (c != word.text[k]) return false;
  }
  return !word.whole_word ||
         !((i > 0 && IsWordByte(text[i - 1]) && IsWordByte(word.text.front())) ||
           (i + n < text.size() && IsWordByte(text[i + n]) && IsWordByte(word.text.back())));
}

// The first word of `sense` that occurs in text[begin, end), or nullptr. One table look-up per
// byte; words are tried only where one of them can start.
const ContextWord* FindAnyWord(const CompiledSense& sense, const std::string& text, size_t begin,
                               size_t end) {
  for (size_t i = begin; i < end; ++i) {
    if (!sense.first_bytes[static_cast<unsigned char>(text[i])]) continue;
    for (const ContextWord& word : sense.words) {
      if (WordAt(word, text, i, end)) return &word;
    }
  }
  return nullptr;
}

// The first word of `sense` found in its scope around [start, end) of `field`, or nullptr.
const ContextWord* FindContext(const CompiledSense& sense, const v1::Article& article,
                               v1::TextField field, uint32_t start, uint32_t end) {
  const std::string& text = field == v1::TEXT_FIELD_TITLE ? article.title() : article.body();
  switch (sense.scope) {
    case v1::SENSE_SCOPE_TITLE:
      return FindAnyWord(sense, article.title(), 0, article.title().size());
    case v1::SENSE_SCOPE_ARTICLE:
      if (const ContextWord* word =
              FindAnyWord(sense, article.title(), 0, article.title().size())) {
        return word;
      }
      return FindAnyWord(sense, article.body(), 0, article.body().size());
    case v1::SENSE_SCOPE_SENTENCE:
      return FindAnyWord(sense, text, SentenceStart(text, start), SentenceEnd(text, end));
    default:
      return FindAnyWord(sense, text, MoveBack(text, start, sense.window),
                         MoveForward(text, end, sense.window));
  }
}

// "veto near "Inc": Mars Inc. the confectioner" for tag --explain.
std::string DescribeSense(const v1::SenseRule& rule, const std::string& found) {
  static constexpr const char* kScopes[] = {"near", "in the sentence", "in the title",
                                            "in the article"};
  const char* scope = rule.scope() >= 0 && rule.scope() < 4 ? kScopes[rule.scope()] : "near";
  std::string out = rule.veto().empty() ? absl::StrCat("required context missing ", scope, " (",
                                                       absl::StrJoin(rule.require(), ", "), ")")
                                        : absl::StrCat("vetoed by \"", found, "\" ", scope);
  if (!rule.reason().empty()) absl::StrAppend(&out, ": ", rule.reason());
  return out;
}

std::vector<ContextWord> CompileWords(
    const google::protobuf::RepeatedPtrField<std::string>& words) {
  std::vector<ContextWord> compiled;
  for (const std::string& written : words) {
    const std::string word(absl::StripAsciiWhitespace(written));
    if (word.empty()) continue;
    if (ContainsCjk(word)) {
      compiled.push_back(ContextWord{.text = word, .caseless = false, .whole_word = false});
      for (std::string& variant : TraditionalVariants(word)) {
        compiled.push_back(
            ContextWord{.text = std::move(variant), .caseless = false, .whole_word = false});
      }
    } else if (IsAcronym(word)) {
      compiled.push_back(ContextWord{.text = word, .caseless = false, .whole_word = true});
    } else {
      compiled.push_back(
          ContextWord{.text = absl::AsciiStrToLower(word), .caseless = true, .whole_word = true});
    }
  }
  return compiled;
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
  senses_.resize(spec_.taxonomy.topics_size());
  aboutness_.resize(spec_.taxonomy.topics_size());
  for (int t = 0; t < spec_.taxonomy.topics_size(); ++t) {
    const v1::Topic& topic = spec_.taxonomy.topics(t);
    senses_[t].resize(topic.terms_size());
    for (int i = 0; i < topic.terms_size(); ++i) {
      for (const v1::SenseRule& rule : topic.terms(i).senses()) {
        senses_[t][i].push_back(CompiledSense{
            .is_veto = !rule.veto().empty(),
            .scope = rule.scope(),
            .window = rule.window() > 0 ? rule.window() : 40,
            .words = CompileWords(rule.veto().empty() ? rule.require() : rule.veto())});
        CompiledSense& compiled = senses_[t][i].back();
        for (const ContextWord& word : compiled.words) {
          const auto first = static_cast<unsigned char>(word.text.front());
          compiled.first_bytes[first] = true;
          if (word.caseless) compiled.first_bytes[absl::ascii_toupper(first)] = true;
        }
      }
    }
    const v1::Aboutness& aboutness =
        topic.has_aboutness() ? topic.aboutness() : spec_.taxonomy.default_aboutness();
    for (int y = 0; y < topic.yields_to_size(); ++y) {
      for (int other = 0; other < spec_.taxonomy.topics_size(); ++other) {
        if (spec_.taxonomy.topics(other).id() == topic.yields_to(y).topic() && other != t) {
          yields_.resize(spec_.taxonomy.topics_size());
          yields_[t].push_back(CompiledYield{.topic = other,
                                             .below_ratio = topic.yields_to(y).below_ratio(),
                                             .by_sentence = topic.yields_to(y).by_sentence(),
                                             .rule = y});
          has_yields_ = true;
        }
      }
    }
    aboutness_[t] = CompiledAboutness{.min_distinct_terms = aboutness.min_distinct_terms(),
                                      .min_sentences = aboutness.min_sentences(),
                                      .lead_chars = aboutness.lead_chars(),
                                      .min_score = aboutness.min_score()};
  }
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

std::vector<Classifier::TopicDecision> Classifier::Explain(const v1::Article& article) const {
  google::protobuf::RepeatedPtrField<v1::Tag> unused;
  std::vector<TopicDecision> decisions;
  Score(article, /*tagged_only=*/false, unused, &decisions);
  return decisions;
}

void Classifier::Score(const v1::Article& article, bool tagged_only,
                       google::protobuf::RepeatedPtrField<v1::Tag>& tags,
                       std::vector<TopicDecision>* decisions) const {
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
  struct Vetoed {
    const TermMatch* match;
    int rule;
    const ContextWord* word;  // the veto word found; nullptr for a require rule
  };
  struct TopicScore {
    int topic = 0;
    double score = 0;
    double threshold = 1;
    size_t first = 0;  // [first, last) in `counted`
    size_t last = 0;
    size_t first_vetoed = 0;  // [first_vetoed, last_vetoed) in `vetoed`
    size_t last_vetoed = 0;
    bool passes_threshold = false;
    bool passes_aboutness = false;
    bool yielded = false;
    int yield_rule = -1;
    std::string why_not{};  // only when explaining
  };
  std::vector<Counted> counted;
  std::vector<Vetoed> vetoed;
  std::vector<TopicScore> scores;
  std::vector<TermMatch*> exclusions;
  std::vector<TermMatch*> terms;
  std::vector<int> times_counted;
  std::vector<uint32_t> sentence_ends;  // of the body, computed when a gate first needs them
  bool have_sentence_ends = false;
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
    const std::vector<std::vector<CompiledSense>>& topic_senses = senses_[topic_index];
    times_counted.assign(topic.terms_size(), 0);
    TopicScore score{.topic = topic_index, .first = counted.size(), .first_vetoed = vetoed.size()};
    for (TermMatch* match : terms) {
      if (!match->counted) continue;
      // Sense rules run only here, for the few matches of terms that have them.
      const std::vector<CompiledSense>& senses = topic_senses[match->term];
      for (size_t r = 0; r < senses.size(); ++r) {
        const ContextWord* word =
            FindContext(senses[r], article, match->field, match->start, match->end);
        if (senses[r].is_veto == (word != nullptr)) {
          match->counted = false;
          vetoed.push_back(Vetoed{match, static_cast<int>(r), word});
          break;
        }
      }
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
    score.last_vetoed = vetoed.size();
    if (score.first == score.last &&
        (decisions == nullptr || score.first_vetoed == score.last_vetoed)) {
      continue;
    }
    score.threshold = topic.threshold() > 0                    ? topic.threshold()
                      : spec_.taxonomy.default_threshold() > 0 ? spec_.taxonomy.default_threshold()
                                                               : 1.0;
    // A small tolerance so that sums like 0.1 + 0.2 reach a 0.3 threshold.
    score.passes_threshold = score.first < score.last && score.score + 1e-9 >= score.threshold;
    if (tagged_only && !score.passes_threshold) continue;
    if (decisions != nullptr && !score.passes_threshold) {
      score.why_not = score.first == score.last ? "every match was dropped by a sense rule"
                                                : absl::StrFormat("score %.2f < threshold %.2f",
                                                                  score.score, score.threshold);
    }

    // The aboutness gate: a title match passes it; otherwise one of the topic's conditions must
    // hold (see Aboutness in proto/taxonomy.proto).
    const CompiledAboutness& aboutness = aboutness_[topic_index];
    score.passes_aboutness = true;
    if (aboutness.enabled() && score.first < score.last &&
        counted[score.first].match->field != v1::TEXT_FIELD_TITLE) {
      int distinct_terms = 0;
      for (int times : times_counted) distinct_terms += times > 0 ? 1 : 0;
      // Sentences holding the matches, counted only as far as the gate needs unless explaining.
      int sentences = 0;
      if (aboutness.min_sentences > 0 &&
          !(aboutness.min_score > 0 && score.score + 1e-9 >= aboutness.min_score)) {
        sentences = 1;
        for (size_t i = score.first + 1; i < score.last; ++i) {
          if (decisions == nullptr && sentences >= aboutness.min_sentences) break;
          if (SentenceEndsWithin(article.body(), counted[i - 1].match->start,
                                 counted[i].match->start)) {
            ++sentences;
          }
        }
      }
      const bool in_lead =
          aboutness.lead_chars > 0 &&
          counted[score.first].match->start < MoveForward(article.body(), 0, aboutness.lead_chars);
      score.passes_aboutness =
          (aboutness.min_sentences > 0 && sentences >= aboutness.min_sentences) ||
          (aboutness.min_distinct_terms > 0 && distinct_terms >= aboutness.min_distinct_terms) ||
          (aboutness.min_score > 0 && score.score + 1e-9 >= aboutness.min_score) || in_lead;
      if (!score.passes_aboutness && decisions != nullptr) {
        std::vector<std::string> needs = {"no match in the title"};
        if (aboutness.min_sentences > 0) {
          needs.push_back(absl::StrFormat("matches in %d sentence(s) < %d", sentences,
                                          aboutness.min_sentences));
        }
        if (aboutness.min_distinct_terms > 0) {
          needs.push_back(absl::StrFormat("%d distinct term(s) < %d", distinct_terms,
                                          aboutness.min_distinct_terms));
        }
        if (aboutness.min_score > 0) {
          needs.push_back(absl::StrFormat("score %.2f < %.2f", score.score, aboutness.min_score));
        }
        if (aboutness.lead_chars > 0) {
          needs.push_back(absl::StrCat("no match in the first ", aboutness.lead_chars,
                                       " characters of the body"));
        }
        absl::StrAppend(&score.why_not, score.why_not.empty() ? "" : "; ",
                        "not about the topic (aboutness): ", absl::StrJoin(needs, ", "));
      }
    }
    if (tagged_only && !score.passes_aboutness) continue;
    scores.push_back(std::move(score));
  }
  // Topic conventions: when both topics are tagged, a topic far behind the one it yields to gives
  // way; with by_sentence, so does one whose matches outside the other topic's sentences (and
  // title) do not reach its threshold.
  if (has_yields_ && scores.size() > 1) {
    absl::InlinedVector<const TopicScore*, 16> tagged(spec_.taxonomy.topics_size(), nullptr);
    for (const TopicScore& score : scores) {
      if (score.passes_threshold && score.passes_aboutness) tagged[score.topic] = &score;
    }
    // Sentence of a match: -1 for the title, else its sentence's index in the body.
    auto sentence_of = [&](const TermMatch& match) -> int64_t {
      if (match.field == v1::TEXT_FIELD_TITLE) return -1;
      if (!have_sentence_ends) {
        sentence_ends = SentenceEnds(article.body());
        have_sentence_ends = true;
      }
      return std::upper_bound(sentence_ends.begin(), sentence_ends.end(), match.start) -
             sentence_ends.begin();
    };
    for (size_t i = 0; i < scores.size(); ++i) {
      const TopicScore& score = scores[i];
      if (tagged[score.topic] == nullptr) continue;
      for (const CompiledYield& yield : yields_[score.topic]) {
        const TopicScore* other = tagged[yield.topic];
        if (other == nullptr) continue;
        const bool far_behind = score.score < yield.below_ratio * other->score;
        double own = 0;
        for (size_t m = score.first; m < score.last && yield.by_sentence; ++m) {
          const int64_t sentence = sentence_of(*counted[m].match);
          bool shared = false;
          for (size_t o = other->first; o < other->last && !shared; ++o) {
            shared = sentence_of(*counted[o].match) == sentence;
          }
          if (!shared) own += counted[m].contribution;
        }
        if (!far_behind && (!yield.by_sentence || own + 1e-9 >= score.threshold)) continue;
        scores[i].yielded = true;  // read only below, never through `tagged`
        scores[i].yield_rule = yield.rule;
        if (decisions != nullptr) {
          const v1::Yield& rule = spec_.taxonomy.topics(score.topic).yields_to(yield.rule);
          scores[i].why_not =
              far_behind ? absl::StrFormat("yields to %s: score %.2f < %.2f x %.2f", rule.topic(),
                                           score.score, yield.below_ratio, other->score)
                         : absl::StrFormat(
                               "yields to %s: only %.2f of its score is outside the %s "
                               "sentences",
                               rule.topic(), own, rule.topic());
          if (!rule.reason().empty()) absl::StrAppend(&scores[i].why_not, " (", rule.reason(), ")");
        }
        break;
      }
    }
    if (tagged_only) {
      std::erase_if(scores, [](const TopicScore& score) { return score.yielded; });
    }
  }
  std::stable_sort(scores.begin(), scores.end(), [this](const TopicScore& a, const TopicScore& b) {
    if (a.score != b.score) return a.score > b.score;
    return spec_.taxonomy.topics(a.topic).id() < spec_.taxonomy.topics(b.topic).id();
  });

  auto fill_evidence = [&](const TermMatch& match, v1::Evidence& evidence) {
    const v1::Term& term = spec_.taxonomy.topics(match.topic).terms(match.term);
    const std::string& text =
        match.field == v1::TEXT_FIELD_TITLE ? article.title() : article.body();
    evidence.set_term(term.regex().empty() ? term.text() : term.regex());
    evidence.set_matched_text(text.data() + match.start, match.end - match.start);
    evidence.set_field(match.field);
    evidence.set_start(match.start);
    evidence.set_end(match.end);
  };
  auto fill_tag = [&](const TopicScore& score, v1::Tag& tag) {
    const v1::Topic& topic = spec_.taxonomy.topics(score.topic);
    tag.set_topic(topic.id());
    tag.set_score(score.score);
    tag.mutable_evidence()->Reserve(static_cast<int>(score.last - score.first));
    for (size_t i = score.first; i < score.last; ++i) {
      v1::Evidence* evidence = tag.add_evidence();
      fill_evidence(*counted[i].match, *evidence);
      evidence->set_contribution(counted[i].contribution);
    }
    tag.set_threshold(score.threshold);
    tag.set_label_en(topic.label_en());
    tag.set_label_zh(topic.label_zh());
    tag.set_uri(topic.uri().empty() ? spec_.taxonomy.uri_prefix() + topic.id() : topic.uri());
    tag.set_iptc_parent(topic.iptc_parent());
  };

  if (decisions != nullptr) {
    decisions->reserve(scores.size());
    for (const TopicScore& score : scores) {
      TopicDecision& decision = decisions->emplace_back();
      fill_tag(score, decision.tag);
      decision.passes_threshold = score.passes_threshold;
      decision.passes_aboutness = score.passes_aboutness;
      decision.tagged = score.passes_threshold && score.passes_aboutness && !score.yielded;
      decision.why_not = score.why_not;
      decision.yielded = score.yielded;
      decision.yield_rule = score.yield_rule;
      for (size_t i = score.first; i < score.last; ++i) {
        decision.evidence_terms.push_back(counted[i].match->term);
      }
      for (size_t i = score.first_vetoed; i < score.last_vetoed; ++i) {
        const Vetoed& v = vetoed[i];
        const v1::SenseRule& rule =
            spec_.taxonomy.topics(v.match->topic).terms(v.match->term).senses(v.rule);
        VetoedMatch& out = decision.vetoed.emplace_back();
        fill_evidence(*v.match, out.evidence);
        out.rule = DescribeSense(rule, v.word != nullptr ? v.word->text : "");
        out.term = v.match->term;
        out.sense = v.rule;
      }
    }
    return;
  }
  tags.Reserve(tags.size() + static_cast<int>(scores.size()));
  for (const TopicScore& score : scores) {
    if (score.first == score.last) continue;
    fill_tag(score, *tags.Add());
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
