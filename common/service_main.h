// What every stage's main() does before its own work, in the one order that is correct:
// flags from TOPICWIRE_<FLAG> environment variables and then the command line (so that the
// command line wins), logging at --log_level, and SIGINT/SIGTERM routed to a Shutdown before any
// libzmq thread exists (threads inherit the blocked signals). Then, once the stage has its
// metrics registry, the HTTP probes.
#ifndef TOPICWIRE_COMMON_SERVICE_MAIN_H_
#define TOPICWIRE_COMMON_SERVICE_MAIN_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/http_endpoint.h"
#include "common/readiness.h"
#include "common/shutdown.h"
#include "prometheus/registry.h"

namespace topicwire {

// Parses the flags, starts logging as `service` and blocks SIGINT/SIGTERM into the returned
// Shutdown. On error the message has been logged (or printed, before logging exists): exit 1.
absl::StatusOr<Shutdown> StartService(int argc, char** argv, const std::string& service,
                                      const std::string& usage);

// Serves /healthz, /readyz (from `readiness`) and /metrics on `listen` and logs the port; null
// when `listen` is empty (no HTTP). On error the message has been logged: exit 1.
absl::StatusOr<std::unique_ptr<HttpEndpoint>> ServeProbes(
    const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
    std::shared_ptr<const Readiness> readiness);

// The exit code of a stage that stops with `status`: 0 when it is OK; otherwise 1, after logging
// "exiting: <status>", so that the supervisor restarts the stage.
int ExitCode(const absl::Status& status);

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_SERVICE_MAIN_H_
