#include "ingest/admin_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "google/protobuf/timestamp.pb.h"
#include "common/time_util.h"
#include "proto/article.pb.h"
#include "spdlog/spdlog.h"

namespace topicwire::ingest {
v1::AdminReply AdminService::Handle(absl::string_view payload) {
  v1::AdminRequest request;
  v1::AdminReply reply;
  if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    reply.set_error("not an AdminRequest (proto/admin.proto)");
  } else if (request.has_list_dead_letters()) {
    ListDeadLetters(reply);
  } else if (request.has_replay_dead_letters()) {
    ReplayDeadLetters(request.replay_dead_letters(), reply);
  } else {
    reply.set_error("empty AdminRequest: set list_dead_letters or replay_dead_letters");
  }
  if (!reply.error().empty()) spdlog::warn("admin request failed: {}", reply.error());
  return reply;
}

void AdminService::ListDeadLetters(v1::AdminReply& reply) {
  absl::StatusOr<std::vector<DeadLetter>> letters = journal_.ListDeadLetters();
  if (!letters.ok()) {
    reply.set_error(letters.status().ToString());
    return;
  }
  v1::DeadLetterListReply& list = *reply.mutable_list_dead_letters();
  for (const DeadLetter& letter : *letters) {
    v1::DeadLetter& entry = *list.add_dead_letters();
    entry.set_id(letter.article_id);
    v1::Article article;
    if (article.ParseFromString(letter.serialized_article)) entry.set_title(article.title());
    entry.set_attempts(letter.failure.attempts);
    entry.set_last_reason(letter.failure.reason);
    *entry.mutable_first_attempt() = ToTimestamp(letter.failure.first_attempt);
    *entry.mutable_last_attempt() = ToTimestamp(letter.failure.last_attempt);
    *entry.mutable_accepted_at() = ToTimestamp(letter.accepted_at);
    entry.set_journal_seq(letter.journal_seq);
  }
}

void AdminService::ReplayDeadLetters(const v1::DeadLetterReplayRequest& request,
                                     v1::AdminReply& reply) {
  const std::vector<std::string> ids(request.ids().begin(), request.ids().end());
  if (!request.all() && ids.empty()) {
    reply.set_error("a replay needs article ids or all");
    return;
  }
  absl::StatusOr<std::vector<PendingRecord>> replayed =
      journal_.ReplayDeadLetters(ids, request.all());
  if (!replayed.ok()) {
    reply.set_error(replayed.status().ToString());
    return;
  }
  v1::DeadLetterReplayReply& answer = *reply.mutable_replay_dead_letters();
  absl::flat_hash_set<std::string> found;
  for (PendingRecord& record : *replayed) {
    answer.add_ids(record.article_id);
    found.insert(record.article_id);
    // A fresh attempt budget, whatever the journal kept of the failed ones.
    dispatcher_.Add(PendingRecord{.journal_seq = record.journal_seq,
                                  .article_id = std::move(record.article_id),
                                  .accepted_at = record.accepted_at});
  }
  answer.set_replayed(static_cast<uint32_t>(replayed->size()));
  for (const std::string& id : ids) {
    if (!request.all() && !found.contains(id)) answer.add_unknown_ids(id);
  }
  spdlog::info("replayed {} dead letters with a fresh attempt budget", replayed->size());
  metrics_.dead_letters.Decrement(static_cast<double>(replayed->size()));
}

}  // namespace topicwire::ingest
