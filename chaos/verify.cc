#include "chaos/verify.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace topicwire::chaos {
namespace {

constexpr int kMaxExamples = 20;

void AddExamples(const std::set<std::string>& ids,
                 google::protobuf::RepeatedPtrField<std::string>& examples) {
  for (const std::string& id : ids) {
    if (examples.size() >= kMaxExamples) break;
    *examples.Add() = id;
  }
}

}  // namespace

ChaosReport::Verification Verify(const VerifyInput& input) {
  ChaosReport::Verification result;
  std::set<std::string> duplicated;

  // Store: every id once, under one sequence.
  absl::flat_hash_map<std::string, std::set<uint64_t>> sequences_of;
  for (const auto& [id, sequence] : input.stored) sequences_of[id].insert(sequence);
  result.set_stored(input.stored.size());
  for (const auto& [id, sequences] : sequences_of) {
    if (sequences.size() > 1) duplicated.insert(id);
  }
  // Rows that repeat the same (id, sequence) pair are duplicates too.
  if (input.stored.size() != sequences_of.size()) {
    absl::flat_hash_map<std::string, int> rows_of;
    for (const auto& [id, sequence] : input.stored) {
      if (++rows_of[id] > 1) duplicated.insert(id);
    }
  }

  std::set<std::string> lost;
  for (const std::string& id : input.accepted) {
    if (!sequences_of.contains(id)) lost.insert(id);
  }
  uint64_t stored_not_accepted = 0;
  for (const auto& [id, sequences] : sequences_of) {
    if (!input.accepted.contains(id)) ++stored_not_accepted;
  }
  result.set_stored_not_accepted(stored_not_accepted);

  // History: per stream, positions 1..n each holding one article, each article at most once.
  std::map<std::string, std::map<uint64_t, std::string>> history_slots;
  std::map<std::pair<std::string, std::string>, std::set<uint64_t>> history_positions_of;
  absl::flat_hash_set<std::string> published_ids;
  uint64_t slot_conflicts = 0;
  for (const StreamCopy& copy : input.history) {
    auto [it, inserted] = history_slots[copy.stream].emplace(copy.stream_sequence, copy.article_id);
    if (!inserted && it->second != copy.article_id) ++slot_conflicts;
    history_positions_of[{copy.stream, copy.article_id}].insert(copy.stream_sequence);
    published_ids.insert(copy.article_id);
    if (auto stored = sequences_of.find(copy.article_id);
        stored != sequences_of.end() && !stored->second.contains(copy.sequence)) {
      duplicated.insert(copy.article_id);  // published under a sequence the store does not hold
    }
  }
  for (const auto& [stream_and_id, positions] : history_positions_of) {
    if (positions.size() > 1) duplicated.insert(stream_and_id.second);
  }
  if (slot_conflicts > 0) {
    result.add_stream_problems(
        absl::StrCat(slot_conflicts, " stream positions hold two different articles in history"));
  }
  for (const auto& [stream, slots] : history_slots) {
    const uint64_t highest = slots.rbegin()->first;
    if (slots.begin()->first != 1 || highest != slots.size()) {
      result.add_stream_problems(absl::StrCat("stream '", stream, "' has ", slots.size(),
                                              " copies but positions up to ", highest,
                                              ": holes in stream_sequence"));
    }
  }
  uint64_t unpublished = 0;
  for (const auto& [id, sequences] : sequences_of) {
    if (!published_ids.contains(id)) ++unpublished;
  }
  if (unpublished > 0) {
    result.add_stream_problems(
        absl::StrCat(unpublished, " stored articles were never published on any stream"));
  }

  // Live: each copy once, matching history.
  std::map<std::pair<std::string, uint64_t>, int> live_count;
  std::map<std::pair<std::string, std::string>, std::set<uint64_t>> live_positions_of;
  uint64_t disagreements = 0;
  for (const StreamCopy& copy : input.live) {
    if (++live_count[{copy.stream, copy.stream_sequence}] > 1) duplicated.insert(copy.article_id);
    live_positions_of[{copy.stream, copy.article_id}].insert(copy.stream_sequence);
    auto stream = history_slots.find(copy.stream);
    if (stream == history_slots.end()) {
      ++disagreements;
      continue;
    }
    auto slot = stream->second.find(copy.stream_sequence);
    if (slot == stream->second.end() || slot->second != copy.article_id) ++disagreements;
  }
  for (const auto& [stream_and_id, positions] : live_positions_of) {
    if (positions.size() > 1) duplicated.insert(stream_and_id.second);
  }
  if (disagreements > 0) {
    result.add_stream_problems(
        absl::StrCat(disagreements, " live copies are not in history at the same stream position"));
  }
  result.set_live_copies(input.live.size());
  uint64_t filled = 0;
  for (const StreamCopy& copy : input.history) {
    if (!live_count.contains({copy.stream, copy.stream_sequence})) ++filled;
  }
  result.set_filled_from_history(filled);

  result.set_lost(lost.size());
  result.set_duplicated(duplicated.size());
  AddExamples(lost, *result.mutable_lost_examples());
  AddExamples(duplicated, *result.mutable_duplicated_examples());
  return result;
}

}  // namespace topicwire::chaos
