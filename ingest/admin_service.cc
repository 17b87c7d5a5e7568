#include "ingest/admin_service.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/time_util.h"
#include "spdlog/spdlog.h"

namespace topicwire::ingest {

std::optional<v1::AdminReply> AdminService::Handle(absl::string_view payload) {
  v1::AdminRequest request;
  v1::AdminReply reply;
  if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    reply.set_error("not an AdminRequest (proto/admin.proto)");
  } else if (request.has_list_dead_letters()) {
    ListDeadLetters(request.list_dead_letters(), reply);
  } else if (request.has_replay_dead_letters()) {
    if (!ReplayDeadLetters(request.replay_dead_letters(), reply)) return std::nullopt;
  } else {
    reply.set_error("empty AdminRequest: set list_dead_letters or replay_dead_letters");
  }
  if (!reply.error().empty()) spdlog::warn("admin request failed: {}", reply.error());
  return reply;
}

int64_t AdminService::PageSize(uint32_t requested) const {
  if (requested == 0) return options_.max_page_size;
  return std::min<int64_t>(requested, options_.max_page_size);
}

void AdminService::ListDeadLetters(const v1::DeadLetterListRequest& request,
                                   v1::AdminReply& reply) {
  const int64_t page_size = PageSize(request.page_size());
  // One more than the page, to know whether another page follows.
  absl::StatusOr<std::vector<DeadLetter>> letters =
      journal_.ListDeadLetters(request.after_seq(), page_size + 1);
  absl::StatusOr<int64_t> total = journal_.CountDeadLetters();
  if (!letters.ok() || !total.ok()) {
    reply.set_error(!letters.ok() ? letters.status().ToString() : total.status().ToString());
    return;
  }
  v1::DeadLetterListReply& list = *reply.mutable_list_dead_letters();
  list.set_total(static_cast<uint64_t>(*total));
  int64_t listed = 0;
  size_t reply_bytes = reply.ByteSizeLong() + 16;  // room for next_after_seq
  for (const DeadLetter& letter : *letters) {
    v1::DeadLetter entry;
    entry.set_id(letter.article_id);
    entry.set_title(letter.title);
    entry.set_attempts(letter.failure.attempts);
    entry.set_last_reason(letter.failure.reason);
    *entry.mutable_first_attempt() = ToTimestamp(letter.failure.first_attempt);
    *entry.mutable_last_attempt() = ToTimestamp(letter.failure.last_attempt);
    *entry.mutable_accepted_at() = ToTimestamp(letter.accepted_at);
    entry.set_journal_seq(letter.journal_seq);
    // Each entry costs its bytes plus a tag and a length prefix of at most 6 bytes.
    const size_t entry_bytes = entry.ByteSizeLong() + 6;
    const bool full =
        listed == page_size ||
        (listed > 0 && static_cast<int64_t>(reply_bytes + entry_bytes) > options_.max_reply_bytes);
    if (full) {
      list.set_next_after_seq(list.dead_letters(list.dead_letters_size() - 1).journal_seq());
      break;
    }
    reply_bytes += entry_bytes;
    *list.add_dead_letters() = std::move(entry);
    ++listed;
  }
}

bool AdminService::ReplayDeadLetters(const v1::DeadLetterReplayRequest& request,
                                     v1::AdminReply& reply) {
  const std::vector<std::string> ids(request.ids().begin(), request.ids().end());
  if (!request.all() && ids.empty()) {
    reply.set_error("a replay needs article ids or all");
    return true;
  }
  if (!request.all() && static_cast<int64_t>(ids.size()) > options_.max_page_size) {
    reply.set_error(absl::StrCat("at most ", options_.max_page_size,
                                 " ids per replay request; send the rest in further requests"));
    return true;
  }
  if (request.all() && request.page_size() == 0) {
    if (replay_.has_value()) {
      reply.set_error("a replay of every dead letter is already under way");
      return true;
    }
    spdlog::info("replaying every dead letter, {} per turn", options_.max_page_size);
    replay_ = ReplayInProgress{};
    return false;
  }
  const int64_t page_size = PageSize(request.page_size());
  // A full page may be the last one: the next request then replays nothing and ends the run.
  absl::StatusOr<std::vector<PendingRecord>> replayed =
      journal_.ReplayDeadLetters(ids, request.all(), request.after_seq(), page_size);
  if (!replayed.ok()) {
    reply.set_error(replayed.status().ToString());
    return true;
  }
  v1::DeadLetterReplayReply& answer = *reply.mutable_replay_dead_letters();
  absl::flat_hash_set<std::string> found;
  for (const PendingRecord& record : *replayed) {
    answer.add_ids(record.article_id);
    found.insert(record.article_id);
  }
  answer.set_replayed(static_cast<uint32_t>(replayed->size()));
  if (request.all() && static_cast<int64_t>(replayed->size()) == page_size) {
    answer.set_next_after_seq(replayed->back().journal_seq);
  }
  for (const std::string& id : ids) {
    if (!request.all() && !found.contains(id)) answer.add_unknown_ids(id);
  }
  HandOver(*replayed);
  return true;
}

std::optional<v1::AdminReply> AdminService::ContinueReplay() {
  assert(replay_.has_value());
  v1::AdminReply reply;
  absl::StatusOr<std::vector<PendingRecord>> replayed =
      journal_.ReplayDeadLetters({}, /*all=*/true, replay_->after_seq, options_.max_page_size);
  if (!replayed.ok()) {
    reply.set_error(absl::StrCat("replayed ", replay_->replayed,
                                 " dead letters, then: ", replayed.status().ToString()));
    spdlog::warn("admin request failed: {}", reply.error());
    replay_.reset();
    return reply;
  }
  replay_->replayed += replayed->size();
  if (!replayed->empty()) replay_->after_seq = replayed->back().journal_seq;
  const bool done = static_cast<int64_t>(replayed->size()) < options_.max_page_size;
  HandOver(*replayed);
  if (!done) return std::nullopt;
  reply.mutable_replay_dead_letters()->set_replayed(static_cast<uint32_t>(replay_->replayed));
  spdlog::info("replayed every dead letter: {}", replay_->replayed);
  replay_.reset();
  return reply;
}

void AdminService::HandOver(std::vector<PendingRecord>& replayed) {
  for (PendingRecord& record : replayed) {
    // A fresh attempt budget, whatever the journal kept of the failed ones.
    dispatcher_.Add(PendingRecord{.journal_seq = record.journal_seq,
                                  .article_id = std::move(record.article_id),
                                  .accepted_at = record.accepted_at});
  }
  if (!replayed.empty()) {
    spdlog::info("replayed {} dead letters with a fresh attempt budget", replayed.size());
  }
  metrics_.dead_letters.Decrement(static_cast<double>(replayed.size()));
}

}  // namespace topicwire::ingest
