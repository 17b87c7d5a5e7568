#include "classify/tag_output.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/terminal_text.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace topicwire::classify {
namespace {

using google::protobuf::util::TimeUtil;

constexpr char kIptcMediaTopicPrefix[] = "http://cv.iptc.org/newscodes/mediatopic/";

std::string Creator(const v1::TaggedArticle& tagged) {
  return absl::StrCat("topicwire taxonomy ", tagged.taxonomy_version());
}

std::string FieldName(v1::TextField field) {
  return field == v1::TEXT_FIELD_TITLE ? "title" : "body";
}

}  // namespace

int TagConfidence(const v1::Tag& tag) {
  const double threshold = tag.threshold() > 0 ? tag.threshold() : 1.0;
  const double confidence = 100.0 * (1.0 - std::exp2(-std::max(0.0, tag.score()) / threshold));
  return std::clamp(static_cast<int>(std::lround(confidence)), 0, 100);
}

ninjs::v3::NewsItem ToNinjs(const v1::TaggedArticle& tagged) {
  const v1::Article& article = tagged.article();
  ninjs::v3::NewsItem item;
  item.set_uri(!article.url().empty() ? article.url()
                                      : absl::StrCat("urn:topicwire:article:", article.id()));
  item.set_type("text");
  item.set_language(article.language());
  if (tagged.has_classified_at()) {
    item.set_version_created(TimeUtil::ToString(tagged.classified_at()));
  }
  if (article.has_published_at()) {
    item.set_first_created(TimeUtil::ToString(article.published_at()));
  }
  item.set_by(absl::StrJoin(article.authors(), ", "));
  if (!article.title().empty()) item.add_headlines()->set_value(article.title());
  if (!article.body().empty()) {
    ninjs::v3::Text* body = item.add_bodies();
    body->set_value(article.body());
    body->set_content_type("text/plain");
  }
  if (!article.id().empty()) {
    ninjs::v3::AltId* alt_id = item.add_alt_ids();
    alt_id->set_role("topicwire-id");
    alt_id->set_value(article.id());
  }
  const double top_score = tagged.tags().empty() ? 0 : tagged.tags(0).score();
  absl::flat_hash_set<std::string> parents;
  for (const v1::Tag& tag : tagged.tags()) {
    ninjs::v3::Subject* subject = item.add_subjects();
    subject->set_uri(tag.uri().empty() ? absl::StrCat("urn:topicwire:topic:", tag.topic())
                                       : tag.uri());
    subject->set_name(tag.label_en().empty() ? tag.topic() : tag.label_en());
    subject->set_rel("about");
    subject->set_creator(Creator(tagged));
    subject->set_confidence(TagConfidence(tag));
    subject->set_relevance(
        top_score > 0
            ? std::clamp(static_cast<int>(std::lround(100 * tag.score() / top_score)), 0, 100)
            : 0);
  }
  for (const v1::Tag& tag : tagged.tags()) {
    absl::string_view code = tag.iptc_parent();
    if (!absl::ConsumePrefix(&code, "medtop:") || !parents.insert(std::string(code)).second) {
      continue;
    }
    ninjs::v3::Subject* subject = item.add_subjects();
    subject->set_uri(absl::StrCat(kIptcMediaTopicPrefix, code));
    subject->set_name(tag.iptc_parent());
    subject->set_rel("broader");
    subject->set_creator(Creator(tagged));
    subject->set_confidence(TagConfidence(tag));  // the strongest child: tags are sorted
    subject->set_relevance(
        top_score > 0
            ? std::clamp(static_cast<int>(std::lround(100 * tag.score() / top_score)), 0, 100)
            : 0);
  }
  auto* standard = item.mutable_standard();
  standard->set_name("ninjs");
  standard->set_version("3.0");
  standard->set_schema("http://www.iptc.org/std/ninjs/ninjs-schema_3.0.json");
  return item;
}

std::string FormatNinjs(const v1::TaggedArticle& tagged) {
  std::string json;
  // Serializing a valid message cannot fail; the default options print one line.
  (void)google::protobuf::util::MessageToJsonString(ToNinjs(tagged), &json);
  return json;
}

namespace {

void AppendEvidence(std::string& out, const v1::Tag& tag) {
  for (const v1::Evidence& evidence : tag.evidence()) {
    absl::StrAppendFormat(&out, "    %s [%u,%u) \"%s\" matched term \"%s\": +%.2f\n",
                          FieldName(evidence.field()), evidence.start(), evidence.end(),
                          TerminalSafe(absl::Utf8SafeCHexEscape(evidence.matched_text())),
                          TerminalSafe(absl::Utf8SafeCHexEscape(evidence.term())),
                          evidence.contribution());
  }
}

}  // namespace

std::string ExplainTags(const v1::TaggedArticle& tagged) {
  const v1::Article& article = tagged.article();
  // The article's fields come from a publisher: nothing in them may act on the reader's terminal.
  std::string out =
      absl::StrCat(article.id().empty() ? "(no id)" : TerminalSafe(article.id()), ": ",
                   article.title().empty() ? "(no title)" : TerminalSafe(article.title()),
                   "  [taxonomy ", tagged.taxonomy_version(), "]\n");
  if (tagged.tags().empty()) {
    absl::StrAppend(&out, "  no tags: no topic reached its threshold\n");
  }
  for (const v1::Tag& tag : tagged.tags()) {
    absl::StrAppendFormat(&out, "  %s (%s): score %.2f >= threshold %.2f, confidence %d\n",
                          tag.topic(), tag.label_en(), tag.score(), tag.threshold(),
                          TagConfidence(tag));
    AppendEvidence(out, tag);
  }
  return out;
}

std::string ExplainDecisions(const v1::TaggedArticle& tagged,
                             const std::vector<Classifier::TopicDecision>& decisions) {
  std::string out = ExplainTags(tagged);
  if (tagged.tags().empty() && !decisions.empty()) {
    // Some topic had evidence: the lines below say why each fell short.
    absl::StrReplaceAll({{"  no tags: no topic reached its threshold\n", "  no tags\n"}}, &out);
  }
  for (const Classifier::TopicDecision& decision : decisions) {
    if (decision.tagged) continue;
    const v1::Tag& tag = decision.tag;
    absl::StrAppendFormat(&out, "  not tagged: %s (%s): score %.2f, threshold %.2f: %s\n",
                          tag.topic(), tag.label_en(), tag.score(), tag.threshold(),
                          decision.why_not);
    AppendEvidence(out, tag);
  }
  for (const Classifier::TopicDecision& decision : decisions) {
    for (const Classifier::VetoedMatch& vetoed : decision.vetoed) {
      const v1::Evidence& evidence = vetoed.evidence;
      absl::StrAppendFormat(
          &out, "  dropped for %s: %s [%u,%u) \"%s\" matched term \"%s\": %s\n",
          decision.tag.topic(), FieldName(evidence.field()), evidence.start(), evidence.end(),
          TerminalSafe(absl::Utf8SafeCHexEscape(evidence.matched_text())),
          TerminalSafe(absl::Utf8SafeCHexEscape(evidence.term())), TerminalSafe(vetoed.rule));
    }
  }
  return out;
}

}  // namespace topicwire::classify
