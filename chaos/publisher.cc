#include "chaos/publisher.h"

#include <algorithm>
#include <deque>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/zmq_channel.h"
#include "spdlog/spdlog.h"

namespace topicwire::chaos {
namespace {

// Phrases from several topics of the default taxonomy, and neutral filler, so that articles get
// zero, one or several tags.
constexpr const char* kTopicPhrases[] = {"quantum computing",
                                         "superconducting qubits",
                                         "large language model",
                                         "machine learning",
                                         "semiconductor foundry",
                                         "lithography",
                                         "electric vehicle",
                                         "battery swapping",
                                         "satellite launch",
                                         "lunar lander",
                                         "blockchain ledger",
                                         "brain-computer interface",
                                         "gene therapy",
                                         "clinical trial",
                                         "humanoid robot",
                                         "6G network",
                                         "terahertz",
                                         "neural network"};
constexpr const char* kFiller[] = {"the",    "report",  "said", "new",   "market", "city",
                                   "people", "weather", "week", "plans", "team",   "growth",
                                   "local",  "today",   "and",  "of",    "a",      "council"};

struct ArticleState {
  uint32_t sends = 0;
  bool outstanding = false;  // sent, and the latest send is still waiting for an answer
  bool answered = false;
};

struct Sent {
  absl::Time at;
  uint64_t index;
  uint32_t send_number;
};

}  // namespace

v1::Article MakeChaosArticle(const PublisherOptions& options, uint64_t index) {
  std::mt19937_64 random(options.seed * 0x9E3779B97F4A7C15ULL + index);
  v1::Article article;
  article.set_id(absl::StrCat(options.id_prefix, index));
  article.set_source("topicwire-chaos");
  article.set_language("en");
  article.set_title(absl::StrCat("Chaos article ", index, ": ",
                                 kTopicPhrases[random() % std::size(kTopicPhrases)]));
  std::string body;
  while (body.size() < options.article_bytes) {
    // About one word in forty is a topic phrase: most articles get one to three tags.
    absl::StrAppend(&body,
                    random() % 40 == 0 ? kTopicPhrases[random() % std::size(kTopicPhrases)]
                                       : kFiller[random() % std::size(kFiller)],
                    " ");
  }
  article.set_body(body);
  return article;
}

absl::StatusOr<PublishResult> Publish(
    zmq::context_t& context, const PublisherOptions& options, absl::Time deadline, int shutdown_fd,
    const std::function<void(const ChaosReport::Publishing&)>& progress) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  if (absl::Status s = ConfigureSocket(socket, 0); !s.ok()) return s;
  if (absl::Status s = Connect(socket, options.endpoint); !s.ok()) return s;

  PublishResult result;
  ChaosReport::Publishing& figures = result.figures;
  figures.set_articles(options.articles);
  std::vector<ArticleState> states(options.articles);
  uint64_t next_fresh = 0;
  uint64_t answered = 0;
  int outstanding = 0;
  std::deque<std::pair<absl::Time, uint64_t>> retries;  // (not before, index), by time
  std::deque<Sent> sent;                                // by send time
  const absl::Time started = absl::Now();
  absl::Time next_progress = started + absl::Seconds(1);
  int rejected_logged = 0;

  auto settle = [&](uint64_t index) {
    ArticleState& state = states[index];
    if (state.outstanding) {
      state.outstanding = false;
      --outstanding;
    }
  };

  while (answered < options.articles) {
    absl::Time now = absl::Now();
    if (now >= deadline) break;
    const uint64_t fresh_allowed =
        options.rate > 0
            ? std::min<uint64_t>(
                  options.articles,
                  static_cast<uint64_t>(absl::ToDoubleSeconds(now - started) * options.rate) + 1)
            : options.articles;

    // Fill the window: due retries first, then fresh articles.
    while (outstanding < options.window) {
      v1::PublishRequest request;
      std::vector<uint64_t> indexes;
      while (static_cast<int>(indexes.size()) < options.batch &&
             outstanding + static_cast<int>(indexes.size()) < options.window) {
        if (!retries.empty() && retries.front().first <= now) {
          const uint64_t index = retries.front().second;
          retries.pop_front();
          if (!states[index].answered && !states[index].outstanding) indexes.push_back(index);
        } else if (next_fresh < fresh_allowed) {
          indexes.push_back(next_fresh++);
        } else {
          break;
        }
      }
      if (indexes.empty()) break;
      for (uint64_t index : indexes) *request.add_articles() = MakeChaosArticle(options, index);
      absl::Status status = SendProto(socket, request, /*dont_wait=*/true);
      if (absl::IsResourceExhausted(status)) {
        // The socket's queue is full (ingest is down): put them back and wait.
        for (auto it = indexes.rbegin(); it != indexes.rend(); ++it) {
          if (states[*it].sends == 0) {
            --next_fresh;  // fresh articles come in order, so the last taken is next_fresh - 1
          } else {
            retries.emplace_front(now, *it);
          }
        }
        break;
      }
      if (!status.ok()) return status;
      figures.set_requests(figures.requests() + 1);
      for (uint64_t index : indexes) {
        ArticleState& state = states[index];
        if (state.sends > 0) figures.set_resends(figures.resends() + 1);
        ++state.sends;
        state.outstanding = true;
        ++outstanding;
        sent.push_back({now, index, state.sends});
      }
    }

    std::vector<zmq::pollitem_t> items = {{socket.handle(), 0, ZMQ_POLLIN, 0},
                                          {nullptr, shutdown_fd, ZMQ_POLLIN, 0}};
    absl::StatusOr<int> ready = Poll(items, absl::Milliseconds(50));
    if (!ready.ok()) return ready.status();
    if (items[1].revents & ZMQ_POLLIN) {
      spdlog::warn("shutdown requested: stopping the publisher");
      break;
    }

    while (true) {
      Frames frames;
      absl::StatusOr<bool> got = RecvFrames(socket, frames, /*dont_wait=*/true);
      if (!got.ok()) return got.status();
      if (!*got) break;
      v1::PublishReply reply;
      if (frames.empty() || !ParseFrame(frames.back(), reply).ok()) {
        spdlog::warn("ingest sent a reply that is not a PublishReply");
        continue;
      }
      if (!reply.error().empty()) spdlog::warn("ingest refused a request: {}", reply.error());
      now = absl::Now();
      for (const v1::PublishAck& ack : reply.acks()) {
        absl::string_view id = ack.id();
        uint64_t index = 0;
        if (!absl::ConsumePrefix(&id, options.id_prefix) || !absl::SimpleAtoi(id, &index) ||
            index >= options.articles) {
          spdlog::warn("ack for an id this run never sent: {}", ack.id());
          continue;
        }
        ArticleState& state = states[index];
        switch (ack.status()) {
          case v1::PublishAck::ACCEPTED:
          case v1::PublishAck::DUPLICATE:
            if (state.answered) break;
            state.answered = true;
            ++answered;
            settle(index);
            result.accepted.insert(ack.id());
            figures.set_accepted(figures.accepted() + 1);
            if (ack.status() == v1::PublishAck::DUPLICATE) {
              if (state.sends > 1) {
                figures.set_accepted_as_duplicate(figures.accepted_as_duplicate() + 1);
              } else {
                figures.set_unexpected_duplicates(figures.unexpected_duplicates() + 1);
                spdlog::error("DUPLICATE for {} which was sent only once", ack.id());
              }
            }
            break;
          case v1::PublishAck::BUSY:
            figures.set_busy(figures.busy() + 1);
            if (state.answered || !state.outstanding) break;
            settle(index);
            retries.emplace_back(now + options.busy_backoff, index);
            break;
          default:
            if (state.answered) break;
            state.answered = true;
            ++answered;
            settle(index);
            figures.set_rejected(figures.rejected() + 1);
            if (rejected_logged++ < 10) {
              spdlog::error("{} answered {}: {}", ack.id(),
                            v1::PublishAck::Status_Name(ack.status()), ack.reason());
            }
            break;
        }
      }
    }

    // Articles whose latest send got no answer in time are sent again.
    now = absl::Now();
    while (!sent.empty() && sent.front().at + options.resend_after <= now) {
      const Sent oldest = sent.front();
      sent.pop_front();
      ArticleState& state = states[oldest.index];
      if (state.answered || !state.outstanding || state.sends != oldest.send_number) continue;
      settle(oldest.index);
      retries.emplace_back(now, oldest.index);
    }
    // BUSY retries were appended with a later time than timeouts; keep the queue ordered.
    if (retries.size() > 1 && retries[retries.size() - 2].first > retries.back().first) {
      std::stable_sort(retries.begin(), retries.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
    }

    if (now >= next_progress) {
      next_progress = now + absl::Seconds(1);
      if (progress) progress(figures);
    }
  }
  figures.set_unanswered(options.articles - answered);
  return result;
}

}  // namespace topicwire::chaos
