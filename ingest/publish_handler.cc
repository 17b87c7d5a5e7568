#include "ingest/publish_handler.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/time_util.h"
#include "ingest/article_id.h"
#include "ingest/request_parser.h"
#include "ingest/validator.h"
#include "spdlog/spdlog.h"

namespace topicwire::ingest {

size_t PublishHandler::Handle(absl::Span<PublishRequest> requests, size_t max_reply_bytes) {
  Batch batch;
  size_t handled = 0;
  size_t reply_bytes = 0;
  while (handled < requests.size() && reply_bytes < max_reply_bytes) {
    PublishRequest& request = requests[handled++];
    ProcessRequest(request, batch);
    reply_bytes += request.reply.ByteSizeLong();
  }
  CommitBatch(batch);
  return handled;
}

void PublishHandler::ProcessRequest(PublishRequest& request, Batch& batch) {
  absl::StatusOr<std::vector<IncomingArticle>> incoming =
      ParsePublishFrame(request.payload, options_.max_articles_per_request);
  if (!incoming.ok()) {
    metrics_
        .Rejected(absl::IsResourceExhausted(incoming.status()) ? RejectKind::kTooManyArticles
                                                               : RejectKind::kMalformed)
        .Increment();
    spdlog::warn("rejecting a publish frame from {}: {}", absl::BytesToHexString(request.publisher),
                 std::string(incoming.status().message()));
    request.reply.set_error(std::string(incoming.status().message()));
    return;
  }
  const ValidatorOptions validator_options{.max_article_bytes = options_.max_article_bytes};
  for (size_t index = 0; index < incoming->size(); ++index) {
    IncomingArticle& article = (*incoming)[index];
    metrics_.received.Increment();
    v1::PublishAck* ack = request.reply.add_acks();
    ack->set_index(static_cast<uint32_t>(index));
    ack->set_id(article.publisher_id);
    std::optional<Rejection> rejection = std::move(article.rejection);
    if (!rejection.has_value()) {
      rejection = ValidateArticle(article.article, article.serialized_bytes, validator_options);
    }
    if (rejection.has_value()) {
      metrics_.Rejected(rejection->kind).Increment();
      spdlog::warn("rejecting article {} (id '{}'): {}", index, absl::CHexEscape(ack->id()),
                   rejection->reason);
      ack->set_status(v1::PublishAck::REJECTED);
      ack->set_reason(std::move(rejection->reason));
      continue;
    }
    if (article.article.id().empty()) article.article.set_id(DeriveArticleId(article.article));
    const std::string& id = article.article.id();
    ack->set_id(id);
    bool duplicate = batch.ids.contains(id);
    if (!duplicate && batch.journal_error.ok()) {
      absl::StatusOr<bool> known = journal_.ContainsId(id);
      if (known.ok()) {
        duplicate = *known;
      } else {
        batch.journal_error = known.status();
      }
    }
    if (duplicate) {
      metrics_.duplicate.Increment();
      ack->set_status(v1::PublishAck::DUPLICATE);
      ack->set_reason("an article with this id was already accepted");
      continue;
    }
    const int64_t waiting = static_cast<int64_t>(dispatcher_.pending() + batch.records.size());
    if (waiting >= options_.max_pending) {
      metrics_.busy.Increment();
      ack->set_status(v1::PublishAck::BUSY);
      ack->set_reason(
          absl::StrCat("ingest has ", waiting, " articles waiting for sink; retry later"));
      continue;
    }
    batch.ids.insert(id);
    ack->set_status(v1::PublishAck::ACCEPTED);
    batch.records.push_back(
        NewRecord{.article_id = id, .serialized_article = article.article.SerializeAsString()});
    batch.accepted_acks.push_back(ack);
  }
}

void PublishHandler::CommitBatch(Batch& batch) {
  absl::Status& journal_error = batch.journal_error;
  if (!batch.records.empty() && journal_error.ok()) {
    const absl::Time accepted_at = absl::Now();  // stored and shown: wall clock
    const absl::Time commit_start = MonotonicNow();
    absl::StatusOr<std::vector<uint64_t>> seqs = journal_.Append(batch.records, accepted_at);
    metrics_.journal_commit_seconds.Observe(absl::ToDoubleSeconds(MonotonicNow() - commit_start));
    if (seqs.ok()) {
      for (size_t i = 0; i < batch.records.size(); ++i) {
        dispatcher_.Add(PendingRecord{.journal_seq = (*seqs)[i],
                                      .article_id = std::move(batch.records[i].article_id),
                                      .accepted_at = accepted_at});
      }
      metrics_.accepted.Increment(static_cast<double>(batch.records.size()));
      metrics_.journal_bytes.Set(static_cast<double>(journal_.SizeBytes()));
    } else {
      journal_error = seqs.status();
    }
  }
  if (!journal_error.ok()) {
    // Nothing of this batch is durable: say so and keep running, so that publishers' retries
    // succeed as soon as the disk has room again (nothing answered ACCEPTED was lost).
    const bool full = absl::IsResourceExhausted(journal_error);
    const std::string reason = full ? "ingest's journal disk is full; retry later"
                                    : absl::StrCat("ingest cannot write its journal right now (",
                                                   journal_error.message(), "); retry later");
    for (v1::PublishAck* ack : batch.accepted_acks) {
      ack->set_status(v1::PublishAck::BUSY);
      ack->set_reason(reason);
    }
    metrics_.busy.Increment(static_cast<double>(batch.accepted_acks.size()));
    if (full) metrics_.journal_full.Increment();
    spdlog::error("answered {} articles BUSY: {}", batch.accepted_acks.size(),
                  journal_error.ToString());
  }
}

}  // namespace topicwire::ingest
