#include "ingest/ingest_metrics.h"

#include <string>

namespace topicwire::ingest {
namespace {
constexpr char kRepliesUndeliveredHelp[] =
    "PublishReplies not sent, by reason: queue_full (the publisher had "
    "--max_queued_replies_per_publisher unread replies), publisher_gone (it disconnected), other";
}  // namespace

IngestMetrics::IngestMetrics(prometheus::Registry& registry)
    : MetricsRegistrar(registry),
      received(AddCounter("topicwire_ingest_articles_received_total",
                          "Articles received in publish requests")),
      accepted(AddCounter("topicwire_ingest_articles_accepted_total",
                          "Articles written to the journal and answered ACCEPTED")),
      duplicate(
          AddCounter("topicwire_ingest_articles_duplicate_total", "Articles answered DUPLICATE")),
      busy(AddCounter("topicwire_ingest_articles_busy_total",
                      "Articles answered BUSY (too many waiting for sink, or journal failure)")),
      redeliveries(AddCounter("topicwire_ingest_redeliveries_total",
                              "Work items dispatched again (attempt > 1)")),
      failed_attempts(AddCounter("topicwire_ingest_failed_attempts_total",
                                 "Delivery attempts that failed: no CommitAck within "
                                 "--redelivery_timeout, a worker's failure report, or a worker "
                                 "that vanished with the article")),
      pending(AddGauge("topicwire_ingest_pending_articles",
                       "Articles accepted and not yet confirmed by sink")),
      in_flight(AddGauge("topicwire_ingest_in_flight_articles",
                         "Articles dispatched to a worker and not yet confirmed by sink")),
      workers(AddGauge("topicwire_ingest_workers", "Classify workers currently known")),
      journal_bytes(AddGauge("topicwire_ingest_journal_bytes", "Size of the journal database")),
      journal_commit_seconds(AddHistogram(
          "topicwire_ingest_journal_commit_seconds",
          "Time to write and fsync one group commit of accepted articles",
          {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1})),
      dead_letters(AddGauge("topicwire_ingest_dead_letters",
                            "Articles set aside after --max_attempts failed deliveries")),
      dead_lettered(
          AddCounter("topicwire_ingest_dead_letters_total", "Articles moved to the dead letters")),
      journal_quarantined_records(
          AddCounter("topicwire_ingest_journal_quarantined_records_total",
                     "Journal records that failed their checksum at start, moved to the "
                     "quarantine file")),
      journal_replaced(AddCounter("topicwire_ingest_journal_replaced_total",
                                  "Damaged journal files moved aside and replaced at start")),
      journal_full(AddCounter("topicwire_ingest_journal_full_total",
                              "Group commits answered BUSY because the journal's disk was full")),
      replies_undelivered_queue_full(AddCounter("topicwire_ingest_replies_undelivered_total",
                                                kRepliesUndeliveredHelp,
                                                {{"reason", "queue_full"}})),
      replies_undelivered_publisher_gone(AddCounter("topicwire_ingest_replies_undelivered_total",
                                                    kRepliesUndeliveredHelp,
                                                    {{"reason", "publisher_gone"}})),
      replies_undelivered_other(AddCounter("topicwire_ingest_replies_undelivered_total",
                                           kRepliesUndeliveredHelp, {{"reason", "other"}})) {
  auto& rejected_family = CounterFamily(
      "topicwire_ingest_articles_rejected_total",
      "Articles (or, for malformed_frame, too_many_articles and too_many_frames, requests) "
      "rejected, by reason");
  for (int kind = 0; kind <= static_cast<int>(RejectKind::kMalformed); ++kind) {
    rejected_[kind] = &rejected_family.Add(
        {{"reason", std::string(RejectKindLabel(static_cast<RejectKind>(kind)))}});
  }
}

}  // namespace topicwire::ingest
