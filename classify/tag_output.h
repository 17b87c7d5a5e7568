// Ways to show a tagged article beyond its JSON mapping: IPTC ninjs 3.x for news systems, and a
// plain-text explanation of every tag for people (`topicwire tag --explain`).
#ifndef TOPICWIRE_CLASSIFY_TAG_OUTPUT_H_
#define TOPICWIRE_CLASSIFY_TAG_OUTPUT_H_

#include <string>
#include <vector>

#include "classify/classifier.h"
#include "proto/article.pb.h"
#include "proto/ninjs.pb.h"

namespace topicwire::classify {

// The article as a ninjs 3.x news item: uri (the article's URL, else urn:topicwire:article:<id>),
// headline, body, language, dates, and one subject per tag (rel "about", the topic's URI and
// English label, confidence and relevance 0..100, creator = the taxonomy version), plus one
// subject per distinct IPTC Media Topic parent of the tags (rel "broader").
ninjs::v3::NewsItem ToNinjs(const v1::TaggedArticle& tagged);

// ToNinjs() printed with the protobuf JSON mapping on one line (no trailing newline).
std::string FormatNinjs(const v1::TaggedArticle& tagged);

// Several lines explaining every tag: the score against the threshold, then each piece of
// evidence (field, byte offsets, the text matched, the term, what it added), ending in a newline.
std::string ExplainTags(const v1::TaggedArticle& tagged);

// ExplainTags() followed by every topic that was not tagged, with its score and why (below the
// threshold, not about the topic, or yielding to another topic), and every match a sense rule
// dropped with the rule that dropped it. `decisions` comes from Classifier::Explain().
std::string ExplainDecisions(const v1::TaggedArticle& tagged,
                             const std::vector<Classifier::TopicDecision>& decisions);

// confidence (0..100) of a tag: 50 at the threshold, 100 * (1 - 2^(-score/threshold)).
int TagConfidence(const v1::Tag& tag);

}  // namespace topicwire::classify

#endif  // TOPICWIRE_CLASSIFY_TAG_OUTPUT_H_
