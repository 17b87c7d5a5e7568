#include "ingest/ingest_metrics.h"

#include <string>

namespace topicwire::ingest {
namespace {

prometheus::Counter& NewCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Gauge& NewGauge(prometheus::Registry& registry, const std::string& name,
                            const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

IngestMetrics::IngestMetrics(prometheus::Registry& registry)
    : received(NewCounter(registry, "topicwire_ingest_articles_received_total",
                          "Articles received in publish requests")),
      accepted(NewCounter(registry, "topicwire_ingest_articles_accepted_total",
                          "Articles written to the journal and answered ACCEPTED")),
      duplicate(NewCounter(registry, "topicwire_ingest_articles_duplicate_total",
                           "Articles answered DUPLICATE")),
      busy(NewCounter(registry, "topicwire_ingest_articles_busy_total",
                      "Articles answered BUSY (too many waiting for sink, or journal failure)")),
      redeliveries(NewCounter(registry, "topicwire_ingest_redeliveries_total",
                              "Work items dispatched again (attempt > 1)")),
      pending(NewGauge(registry, "topicwire_ingest_pending_articles",
                       "Articles accepted and not yet confirmed by sink")),
      in_flight(NewGauge(registry, "topicwire_ingest_in_flight_articles",
                         "Articles dispatched to a worker and not yet confirmed by sink")),
      workers(NewGauge(registry, "topicwire_ingest_workers", "Classify workers currently known")),
      journal_bytes(
          NewGauge(registry, "topicwire_ingest_journal_bytes", "Size of the journal database")),
      journal_commit_seconds(
          prometheus::BuildHistogram()
              .Name("topicwire_ingest_journal_commit_seconds")
              .Help("Time to write and fsync one group commit of accepted articles")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001,
                                                               0.0025, 0.005, 0.01, 0.025, 0.05,
                                                               0.1, 0.25, 1})),
      dead_letters(NewGauge(registry, "topicwire_ingest_dead_letters",
                            "Articles set aside after --max_attempts failed deliveries")),
      dead_lettered(NewCounter(registry, "topicwire_ingest_dead_letters_total",
                               "Articles moved to the dead letters")),
      journal_quarantined_records(
          NewCounter(registry, "topicwire_ingest_journal_quarantined_records_total",
                     "Journal records that failed their checksum at start, moved to the "
                     "quarantine file")),
      journal_replaced(NewCounter(registry, "topicwire_ingest_journal_replaced_total",
                                  "Damaged journal files moved aside and replaced at start")),
      journal_full(NewCounter(registry, "topicwire_ingest_journal_full_total",
                              "Group commits answered BUSY because the journal's disk was full")) {
  auto& rejected_family =
      prometheus::BuildCounter()
          .Name("topicwire_ingest_articles_rejected_total")
          .Help("Articles (or, for malformed_frame, frames) rejected, by reason")
          .Register(registry);
  for (int kind = 0; kind <= static_cast<int>(RejectKind::kMalformed); ++kind) {
    rejected_[kind] = &rejected_family.Add(
        {{"reason", std::string(RejectKindLabel(static_cast<RejectKind>(kind)))}});
  }
}

}  // namespace topicwire::ingest
