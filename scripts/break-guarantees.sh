#!/usr/bin/env bash
# Breaks each guarantee of the README on purpose and checks that its tests notice (issue 4).
#
# For every break it applies one small patch from tests/mutations/ to a scratch checkout of the
# repository (a git worktree: the repository's own files are never touched), rebuilds only the
# targets the break's tests need, runs those tests with `ctest -R`, and reverts the patch. A
# break is PASS when a test failed (the break was caught), MISSED when every test still passed,
# ERROR when the patch no longer applies or the broken tree does not build. Before the breaks it
# runs the same tests on the unbroken tree: a test that fails there would make a PASS
# meaningless, so the script stops.
#
#   bash scripts/break-guarantees.sh [--list] [--no-baseline] [BREAK...]
#
#   BREAK...                  run only these breaks (names as in --list); default: all
#   --list                    print the breaks, their tests and their patches, and exit
#   --no-baseline             skip the run on the unbroken tree (when it just passed)
#   TOPICWIRE_BREAK_DIR       scratch directory (default: build-breaker in the repository,
#                             which .gitignore covers): src/ worktree, build/, logs/
#   TOPICWIRE_BREAK_REV       the commit to break (default: HEAD)
#   TOPICWIRE_JOBS            parallel compile jobs (default: 2)
#   TOPICWIRE_BREAK_TEST_TIMEOUT  seconds one test may run (default: 120; some breaks make a
#                             test wait forever, which counts as failing)
#
# Exit status: 0 when every break was caught, 1 when any was MISSED or an ERROR, 2 when the
# baseline failed or the arguments are wrong. The scratch build is kept between runs, so a
# second run only recompiles the files the patches touch.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=${TOPICWIRE_BREAK_DIR:-$repo/build-breaker}
rev=${TOPICWIRE_BREAK_REV:-HEAD}
jobs=${TOPICWIRE_JOBS:-2}
test_timeout=${TOPICWIRE_BREAK_TEST_TIMEOUT:-120}
mutations=$repo/tests/mutations
# Every stage reads TOPICWIRE_<FLAG> from the environment and the tests read TOPICWIRE_BIN_DIR:
# a value left in the caller's shell would change what is being tested.
while IFS= read -r variable; do unset "$variable"; done < <(compgen -e | grep '^TOPICWIRE_' || true)

# name | build targets | ctest -R regex (anchored; ctest names are Suite.Test)
breaks=(
  # ingest/dispatcher.cc (redelivery, attempts, dead letters)
  "no-redelivery|bin/topicwire_ingest_test bin/topicwire_e2e_test bin/topicwire_chaos_test|^(DispatcherTest\.(UnconfirmedItemIsRedeliveredAfterTheTimeout|GoodbyeLeavesItsItemsToTheirDeadline)|IngestStageTest\.(UnconfirmedItemIsRedeliveredWithTheNextAttempt|ItemsOfAVanishedWorkerGoToAnotherWorkerAtOnce)|ReliabilityE2eTest\..*|ChaosRunTest\.NothingAcceptedIsLostOrDuplicatedWhileStagesAreKilled)$"
  "dead-letter-limit-ignored|bin/topicwire_ingest_test|^(DispatcherTest\.PoisonArticleIsDeadLetteredAtMaxAttempts|IngestStageTest\.(PoisonArticleIsDeadLetteredAfterMaxAttemptsAndCanBeReplayed|VanishingWorkersCountAsAttemptsAcrossRestartsTimeoutsDoNot))$"
  "poison-dropped|bin/topicwire_ingest_test|^(DispatcherTest\.PoisonArticleIsDeadLetteredAtMaxAttempts|IngestStageTest\.(PoisonArticleIsDeadLetteredAfterMaxAttemptsAndCanBeReplayed|VanishingWorkersCountAsAttemptsAcrossRestartsTimeoutsDoNot))$"
  # ingesthard: attempts count failures and vanished workers, not a stalled sink
  "sink-stall-uses-attempts|bin/topicwire_ingest_test bin/classify bin/sink|^(DispatcherTest\.(UnconfirmedItemIsRedeliveredAfterTheTimeout|TimeoutsAtALiveWorkerNeverDeadLetterAnArticle)|IngestStageTest\.VanishingWorkersCountAsAttemptsAcrossRestartsTimeoutsDoNot|StalledSinkTest\..*)$"
  # ingest/publish_handler.cc (dedup, BUSY, group commit)
  "dedup-disabled|bin/topicwire_ingest_test bin/topicwire_e2e_test|^(IngestStageTest\.DuplicatesAcrossRequestsAndInsideOneRequest|PipelineE2eTest\.DuplicateIdIsAnsweredDuplicateAndStoredOnce)$"
  "full-disk-accepted|bin/topicwire_ingest_test|^IngestStageTest\.(FullJournalDiskAnswersBusyThenAcceptsWhenSpaceIsBack|InMemoryJournalFailureAnswersBusyAndTheStageKeepsRunning)$"
  "articles-per-request-unbounded|bin/topicwire_ingest_test|^(RequestParserTest\.(MoreArticlesThanTheLimitIsAFrameErrorWithTheCountAndTheLimit|ArticlesWithInvalidUtf8CountTowardsTheLimit)|IngestStageTest\.EveryRejectionIsAnsweredAndTheStageKeepsRunning|IngestOverloadTest\.RequestOfMillionsOfHeadlinesIsRefusedWholeWithoutTheMemory)$"
  "max-pending-ignored|bin/topicwire_ingest_test|^(IngestStageTest\.BusyAtMaxPendingUntilSinkConfirms|IngestOverloadTest\..*)$"
  # ingest/ingest_stage.cc (sockets)
  "plaintext-publish-allowed|bin/topicwire_e2e_test|^SecurePipelineTest\..*$"
  # ingest/journal.cc
  "accepted-without-fsync|bin/topicwire_ingest_test|^(IngestStageTest\.AcceptedArticleIsInTheJournalThenDispatchedThenCommitted|IngestBinaryTest\.AcceptedArticleSurvivesKillNineAndSigtermExitsCleanly|JournalDurabilityTest\..*)$"
  "crc-not-checked|bin/topicwire_ingest_test|^(JournalHealingTest\..*|IngestStageTest\.CorruptJournalRecordIsQuarantinedCountedAndTheRestFlows)$"
  "corrupt-record-kept|bin/topicwire_ingest_test|^(JournalHealingTest\..*|IngestStageTest\.CorruptJournalRecordIsQuarantinedCountedAndTheRestFlows)$"
  # ingest/validator.cc
  "max-article-size-ignored|bin/topicwire_ingest_test bin/topicwire_e2e_test|^(ValidatorTest\..*|IngestStageTest\.EveryRejectionIsAnsweredAndTheStageKeepsRunning|PipelineE2eTest\.BadInputIsAnsweredAndServicesKeepRunning)$"
  # sink/sink_stage.cc, sink/store.cc
  "sink-acks-before-storing|bin/topicwire_sink_test bin/topicwire_chaos_test|^(SinkStageTest\..*|SinkAckOrderTest\..*|ChaosRunTest\.NothingAcceptedIsLostOrDuplicatedWhileStagesAreKilled)$"
  "store-not-idempotent|bin/topicwire_sink_test bin/topicwire_chaos_test|^(SqliteStoreTest\..*|ChaosRunTest\.NothingAcceptedIsLostOrDuplicatedWhileStagesAreKilled)$"
  # cli/subscribe.cc
  "clone-history-before-live|bin/topicwire_cli_test bin/topicwire_e2e_test|^(SubscribeTest\..*|SubscribeCloneTest\..*|CliE2eTest\.UpPublishSubscribeShowsTheFeedsTags)$"
  "overlap-not-dropped|bin/topicwire_cli_test|^(SubscribeTest\..*|SubscribeCloneTest\..*)$"
  "resume-position-not-read|bin/topicwire_cli_test|^SubscribeTest\.(ResumeContinuesAfterTheLastPrintedMessageWithoutGapOrDuplicate|UnreadableResumeFileIsAClearError)$"
  "resume-position-not-written|bin/topicwire_cli_test|^SubscribeTest\.(ResumeContinuesAfterTheLastPrintedMessageWithoutGapOrDuplicate|UnreadableResumeFileIsAClearError)$"
  # common/zap_authenticator.cc
  "zap-allows-unknown-keys|bin/topicwire_common_test bin/topicwire_e2e_test|^((ZapHandlerTest|CurveServerTest|SecurePipelineTest)\..*)$"
  "world-readable-key-used|bin/topicwire_common_test|^CurveKeysTest\.SecretKeyFileOtherUsersCanReadIsRefused$"
  # CURVE on every hop: the stages' socket setup and common/zap_authenticator.cc's allow-lists
  "internal-hop-plaintext|bin/topicwire_e2e_test|^SecurePipelineTest\.ForgedDeliveriesToSinkInputAreRefusedAndNeverStoredOrStreamed$"
  "commit-hop-plaintext|bin/topicwire_e2e_test|^SecurePipelineTest\.ForgedCommitAcksAreRefusedAndTheArticleIsStillDelivered$"
  "internal-hop-admits-clients|bin/topicwire_common_test bin/topicwire_e2e_test|^(ZapDomainTest\..*|SecurePipelineTest\.(ForgedDeliveriesToSinkInputAreRefusedAndNeverStoredOrStreamed|ForgedCommitAcksAreRefusedAndTheArticleIsStillDelivered|RogueWorkersAreRefusedAndGetNoArticles))$"
  "networkpolicy-internal-open|bin/topicwire_deploy_test|^TopologyAgreementTest\.NetworkPolicyAdmitsOnlyThePeerToEachInternalHop$"
  "allow-list-not-reloaded|bin/topicwire_common_test bin/topicwire_e2e_test|^(AllowListReloadTest\..*|SecurePipelineTest\.RevokedClientKeyIsRefusedWithoutARestart)$"
  "admin-admits-clients|bin/topicwire_e2e_test|^SecurePipelineTest\.AdminEndpointAnswersOnlyAdminKeys$"
  # common/zmq_channel.cc
  "socket-cap-removed|bin/topicwire_e2e_test|^SocketCapE2eTest\..*$"
  # Slow-subscriber gap counting (cli/subscribe.cc, sink/history_service.cc)
  "subscriber-gap-silent|bin/topicwire_cli_test bin/topicwire_e2e_test|^(SubscribeTest\.(ReportsSequenceGapsOnStderr|GapInTheLiveStreamIsFilledFromHistory|HoleAtTheEndOfABurstIsFoundOnceTheStreamGoesQuiet)|SlowSubscriberE2eTest\..*)$"
  "sink-gap-reports-ignored|bin/topicwire_sink_test bin/topicwire_e2e_test|^(SinkStageTest\.CountsTheGapsSubscribersReportWithTheirHistoryRequests|SlowSubscriberE2eTest\..*)$"
  # Publishers' text shown on a terminal (common/terminal_text.cc)
  "terminal-escapes-printed|bin/topicwire_common_test bin/topicwire_cli_test|^(TerminalSafeTest\..*|TagExplainTest\.EscapeSequencesInTheArticleAreShownNotObeyed|TagTextFormatTest\..*)$"
  # Sink hardening (issue 11; sink/store.cc, sink/sink_stage.cc, sink/history_service.cc)
  "history-by-topic-unindexed|bin/topicwire_sink_test|^SqliteStoreTest\.HistoryQueriesUseAnIndexAndNeverSortTheStream$"
  "stream-queue-unbounded-by-bytes|bin/topicwire_sink_test bin/sink|^SinkBoundsTest\.StalledSubscriberCostsItsByteBudgetNotTheStream$"
  "history-queue-unbounded|bin/topicwire_sink_test bin/sink|^SinkBoundsTest\.HistoryClientThatNeverReadsCostsItsByteBudget$"
  "stream-labels-unbounded|bin/topicwire_sink_test|^SinkMetricsTest\.StreamLabelsAreCappedAndTheRestCountAsOther$"
  "store-retention-ignored|bin/topicwire_sink_test|^SqliteStoreRetentionTest\..*$"
  "history-expiry-silent|bin/topicwire_cli_test|^SubscribeTest\.HistoryThatExpiredIsReportedOnStderr$"
  "sink-ready-needs-ingest|bin/topicwire_sink_test bin/sink|^(SinkBinaryTest\.ReadyWhileIngestIsDown|SinkStageTest\.ReadyWhileIngestIsUnreachable)$"
  "sink-acks-failed-batch|bin/topicwire_sink_test|^SinkStageTest\.StopsWithTheErrorWhenTheStoreFailsAndAcknowledgesNothing$"
  # sink2: full disk, crash between commit and publish, store epoch (sink/sink_stage.cc, sink/store.cc, cli/subscribe.cc)
  "sink-full-store-exits|bin/topicwire_sink_test bin/topicwire_e2e_test|^(SinkStageTest\.FullStoreHoldsDeliveriesUnacknowledgedAndStoresThemOnceWhenSpaceReturns|SinkFullDiskE2eTest\..*)$"
  "unpublished-copies-not-republished|bin/topicwire_sink_test bin/topicwire_e2e_test|^(SqliteStoreTest\.WhatWasPublishedIsRememberedAcrossReopening|SinkCrashE2eTest\..*)$"
  "store-epoch-ignored|bin/topicwire_cli_test bin/topicwire_e2e_test|^(SubscribeTest\.LiveCopyFromANewStoreEpochIsReportedAndTheNewStoreReplayed|SinkStoreEpochE2eTest\..*)$"
  "store-epoch-not-in-history|bin/topicwire_sink_test bin/topicwire_e2e_test|^(SqliteStoreTest\.EpochIsRandomPerStoreAndKeptAcrossReopening|SinkStoreEpochE2eTest\..*)$"
  # ingest2 (issue 11: ingest hardening)
  "forgotten-worker-not-told|bin/topicwire_ingest_test bin/ingest bin/classify bin/sink|^(DispatcherTest\.AForgottenWorkerIsServedOnlyAfterItRegistersAgain|IngestStageTest\.ForgottenWorkerIsToldToRegisterAgainAndIsServedOnceItDoes|StalledWorkerTest\.WorkerForgottenWhileStoppedServesAgainSoonAfterItResumes)$"
  # probes: slow HTTP clients (common/http_endpoint.cc); "sees nothing" checks bracketed by a marker
  "http-probes-blockable|bin/topicwire_deploy_test|^HttpEndpointTest\.ProbesAnswerWhileMoreSlowClientsThanThreadsAreConnected$"
  "dead-letter-dispatched-again|bin/topicwire_ingest_test|^(DispatcherTest\.PoisonArticleIsDeadLetteredAtMaxAttempts|IngestStageTest\.PoisonArticleIsDeadLetteredAfterMaxAttemptsAndCanBeReplayed)$"
  "subscriptions-per-client-unbounded|bin/topicwire_sink_test bin/sink|^(SinkBoundsTest\.ClientSendingManySubscriptionsIsCutOffAndAGoodSubscriberIsServed)$"
  "deadletters-replay-unpaged|bin/topicwire_ingest_test|^IngestStageTest\.DeadLettersListAndReplayInBoundedPagesWhilePublishersAreServed$"
  "deadletters-list-unpaged|bin/topicwire_ingest_test|^(IngestStageTest\.DeadLettersListAndReplayInBoundedPagesWhilePublishersAreServed|IngestStageTest\.PoisonArticleIsDeadLetteredAfterMaxAttemptsAndCanBeReplayed)$"
  "timers-on-wall-clock|bin/topicwire_ingest_test|^IngestStageTest\.WallClockStepsNeitherRedeliverNorForgetWorkersNorStopHeartbeats$"
  "sink-unreachable-credit-returned|bin/topicwire_classify_test|^ClassifyStageTest\.HoldsCreditWhileSinkIsUnreachable$"
  "max-in-flight-ignored|bin/topicwire_ingest_test|^(DispatcherTest\.InFlightStaysWithinTheBoundUntilSinkCommits|IngestStageTest\.AtMostMaxInFlightDispatchedUntilSinkCommits)$"
  # The dedup window (ingest/journal.cc): bounded by bytes, and a full disk recovers by itself
  "dedup-window-fills-disk|bin/topicwire_ingest_test|^(JournalWindowTest\.DiskFullOfRememberedIdsStillTakesNewArticles|IngestStageTest\.JournalDiskFullOfRememberedIdsStillAcceptsAndAnswersDuplicate)$"
  "dedup-window-bytes-ignored|bin/topicwire_ingest_test|^JournalWindowTest\.(ByteBoundForgetsTheOldestCommittedIdsFirst|ByteBoundIsTrimmedBeforeTheInsertAndSurvivesReopening|JournalOfCommittedIdsStaysWithinTheByteBound)$"
  # ingest/publish_handler.h: the group commit counts every frame a client sends
  "group-commit-envelope-uncounted|bin/topicwire_ingest_test|^GroupCommitBudgetTest\..*$"
  # common/zmq_channel.cc RecvFramesUpTo, ingest/ingest_stage.cc: frames per message capped
  "reply-queue-unbounded|bin/topicwire_ingest_test bin/ingest|^IngestOverloadTest\.PublisherThatNeverReadsItsRepliesCostsABoundedAmount$"
  "frames-per-message-unbounded|bin/topicwire_ingest_test bin/ingest|^(IngestStageTest\.MessageOfTooManyFramesIsRefusedWholeCountedAndOthersAreServed|IngestOverloadTest\.MessageOfAHundredThousandFramesIsRefusedWithBoundedMemory)$"
  # Tag precision (classify/classifier.cc): sense rules, aboutness gate, topic conventions
  "sense-rules-ignored|bin/topicwire_classify_test bin/topicwire_cli_test|^(SenseRuleTest\.(VetoNearDropsTheMatchAndKeepsTheRealSense|RequireInArticleAndSentence|ChineseContextMatchesBothScripts)|TaxonomyTestTest\.DefaultGoldenCasesPass|EvaluationTest\.DevNewsSetQualityFloor|EvalCommandTest\.DevSetsPassTheirCiGates)$"
  "aboutness-gate-ignored|bin/topicwire_classify_test bin/topicwire_cli_test|^(SenseRuleTest\.AboutnessGateDropsAPassingMentionAndExplainsWhy|TaxonomyTestTest\.DefaultGoldenCasesPass|EvaluationTest\.DevNewsSetQualityFloor|EvalCommandTest\.DevSetsPassTheirCiGates)$"
  "conventions-ignored|bin/topicwire_classify_test bin/topicwire_cli_test|^(SenseRuleTest\.TopicYieldsToItsConvention|TaxonomyTestTest\.DefaultGoldenCasesPass|EvaluationTest\.DevNewsSetQualityFloor|EvalCommandTest\.DevSetsPassTheirCiGates)$"
  "golden-coverage-unchecked|bin/topicwire_classify_test bin/topicwire_cli_test|^(GoldenCoverageTest\..*|TaxonomyTestTest\.(UncoveredRulesAreListedAndFailUnlessAllowed|DefaultGoldenCasesPass))$"
)

usage() { # usage EXIT_STATUS
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit "$1"
}

list=false
baseline=true
selected=()
for argument in "$@"; do
  case $argument in
    --list) list=true ;;
    --no-baseline) baseline=false ;;
    -h | --help) usage 0 ;;
    -*) echo "unknown option $argument" >&2 && usage 2 >&2 ;;
    *) selected+=("$argument") ;;
  esac
done

field() { # field RECORD N: the Nth |-separated field of a break record (the regex: N to the end)
  if (($2 == 3)); then cut -d'|' -f3- <<<"$1"; else cut -d'|' -f"$2" <<<"$1"; fi
}

chosen=()
for name in "${selected[@]}"; do
  found=false
  for record in "${breaks[@]}"; do [[ $(field "$record" 1) == "$name" ]] && found=true; done
  $found || { echo "no break named $name (see --list)" >&2 && exit 2; }
done
for record in "${breaks[@]}"; do
  name=$(field "$record" 1)
  if ((${#selected[@]} == 0)) || [[ " ${selected[*]} " == *" $name "* ]]; then chosen+=("$record"); fi
  [[ -f $mutations/$name.patch ]] || { echo "missing $mutations/$name.patch" >&2 && exit 2; }
done

if $list; then
  for record in "${chosen[@]}"; do
    name=$(field "$record" 1)
    printf '%s\n  %s\n  %s\n  tests: %s\n' "$name" \
      "$(sed -n 's/^Guarantee: //p' "$mutations/$name.patch")" \
      "$(sed -n 's/^Break: //p' "$mutations/$name.patch")" "$(field "$record" 3)"
  done
  exit 0
fi

src=$work/src
build=$work/build
logs=$work/logs
mkdir -p "$work" "$logs"
commit=$(git -C "$repo" rev-parse --verify "$rev^{commit}")
started=$(date +%s)
echo "break-guarantees: commit $(git -C "$repo" log -1 --format='%h %s' "$commit")"
echo "break-guarantees: scratch checkout $src, build $build, logs $logs"

# The scratch checkout: a worktree of our own, moved to the commit and cleaned of any patch an
# interrupted run left behind (git rewrites only the files that differ, so the build stays warm).
if [[ ! -e $src/.git ]]; then
  git -C "$repo" worktree prune
  git -C "$repo" worktree add --detach --force "$src" "$commit" >/dev/null
fi
git -C "$src" checkout --detach --force --quiet "$commit"
git -C "$src" clean -fdq
if [[ ! -f $build/build.ninja ]]; then
  cmake -S "$src" -B "$build" -G Ninja -DTOPICWIRE_WERROR=ON >"$logs/cmake.log" 2>&1 ||
    { cat "$logs/cmake.log" >&2 && exit 2; }
fi

all_targets=()
all_regexes=()
for record in "${chosen[@]}"; do
  read -r -a targets <<<"$(field "$record" 2)"
  all_targets+=("${targets[@]}")
  all_regexes+=("$(field "$record" 3)")
done
mapfile -t all_targets < <(printf '%s\n' "${all_targets[@]}" | sort -u)

build_targets() { # build_targets LOG TARGET...
  local log=$1
  shift
  nice ninja -C "$build" -j "$jobs" "$@" >>"$log" 2>&1
}

# Runs the tests matching REGEX; prints "FAILED/RUN" and returns ctest's status.
run_tests() { # run_tests LOG REGEX
  local log=$1 regex=$2 status=0
  (cd "$build" && nice ctest -R "$regex" --no-tests=error --timeout "$test_timeout" --output-on-failure) \
    >>"$log" 2>&1 || status=$?
  local run failed
  run=$(sed -n 's/.*tests passed, [0-9]* tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
  failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
  echo "${failed:-?}/${run:-?}"
  return $status
}

echo "break-guarantees: building ${#all_targets[@]} targets"
: >"$logs/baseline.log"
build_targets "$logs/baseline.log" "${all_targets[@]}" ||
  { tail -40 "$logs/baseline.log" >&2 && echo "the unbroken tree does not build" >&2 && exit 2; }
if $baseline; then
  # CMake's regular expressions allow few groups, so the union is a flat list of the test names.
  names=()
  for regex in "${all_regexes[@]}"; do
    mapfile -t -O "${#names[@]}" names < <(cd "$build" && ctest -N -R "$regex" |
      sed -n 's/^ *Test *#[0-9]*: //p')
  done
  union=$(printf '%s\n' "${names[@]}" | sort -u | sed 's/\./\\./g' | paste -sd'|' -)
  echo "break-guarantees: baseline (the same tests on the unbroken tree)"
  if ! counts=$(run_tests "$logs/baseline.log" "^($union)\$"); then
    grep -E '\*\*\*Failed|Timeout|Not Run' "$logs/baseline.log" >&2 || true
    echo "baseline: $counts tests failed on the unbroken tree; see $logs/baseline.log" >&2
    exit 2
  fi
  echo "break-guarantees: baseline passed ($counts failed/run) after $(($(date +%s) - started))s"
fi

results=()
worst=0
for record in "${chosen[@]}"; do
  name=$(field "$record" 1)
  regex=$(field "$record" 3)
  read -r -a targets <<<"$(field "$record" 2)"
  patch=$mutations/$name.patch
  log=$logs/$name.log
  : >"$log"
  break_started=$(date +%s)
  counts=-
  if ! git -C "$src" apply --check "$patch" >>"$log" 2>&1; then
    result=ERROR
    note="patch does not apply to $(git -C "$repo" rev-parse --short "$commit")"
  else
    git -C "$src" apply "$patch"
    if ! build_targets "$log" "${targets[@]}"; then
      result=ERROR
      note="the broken tree does not build"
    elif counts=$(run_tests "$log" "$regex"); then
      result=MISSED
      note="every test passed with the break in place"
    elif grep -q "No tests were found" "$log"; then
      result=ERROR
      note="no test matches the break's regex"
    else
      result=PASS
      # Whatever ctest's reason for the failure, the names are the note (none matched: empty).
      note=$(grep -oE '[0-9]+ - [A-Za-z0-9_.]+ \(' "$log" | sed -E 's/^[0-9]+ - //; s/ \($//' |
        paste -sd, - || true)
    fi
    git -C "$src" apply -R "$patch"
  fi
  seconds=$(($(date +%s) - break_started))
  [[ $result == PASS ]] || worst=1
  results+=("$name|$result|$counts|$seconds|$note")
  printf 'break-guarantees: %-28s %-6s %5ss  %s\n' "$name" "$result" "$seconds" "$note"
done

echo
printf '%-28s %-6s %-11s %6s  %s\n' break result failed/run time "caught by / why"
for line in "${results[@]}"; do
  IFS='|' read -r name result counts seconds note <<<"$line"
  printf '%-28s %-6s %-11s %5ss  %s\n' "$name" "$result" "$counts" "$seconds" "$note"
done
echo "total $(($(date +%s) - started))s; logs in $logs"
exit $worst
