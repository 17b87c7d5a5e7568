// HttpEndpoint on civetweb: three request handlers, each answering from the caller's state.
#include "common/http_endpoint.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "prometheus/text_serializer.h"

namespace topicwire {
namespace {

// Writes one complete response with an explicit length, so keep-alive clients (Prometheus)
// know where it ends.
void RespondWithCode(mg_connection* connection, int code, const char* content_type,
                     const std::string& body) {
  mg_response_header_start(connection, code);
  mg_response_header_add(connection, "Content-Type", content_type, -1);
  mg_response_header_add(connection, "Content-Length", absl::StrCat(body.size()).c_str(), -1);
  mg_response_header_add(connection, "Cache-Control", "no-store", -1);
  mg_response_header_send(connection);
  const char* method = mg_get_request_info(connection)->request_method;
  if (method == nullptr || std::string(method) != "HEAD") {
    mg_write(connection, body.data(), body.size());
  }
}

bool IsGetOrHead(mg_connection* connection) {
  const mg_request_info* request = mg_get_request_info(connection);
  const std::string method = request->request_method != nullptr ? request->request_method : "";
  return method == "GET" || method == "HEAD";
}

// Opens and closes one TCP connection; failures do not matter to the caller.
void ConnectAndClose(const std::string& host, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) == 1) {
    connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  }
  close(fd);
}

// civetweb wants a process-wide init before the first server and a matching exit after the last.
class CivetwebLibrary {
 public:
  static void Acquire() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (users_++ == 0) mg_init_library(0);
  }
  static void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--users_ == 0) mg_exit_library();
  }

 private:
  static inline std::mutex mutex_;
  static inline int users_ = 0;
};

class CivetwebEndpoint : public HttpEndpoint {
 public:
  CivetwebEndpoint(std::shared_ptr<prometheus::Registry> registry,
                   std::shared_ptr<const Readiness> readiness)
      : registry_(std::move(registry)), readiness_(std::move(readiness)) {
    CivetwebLibrary::Acquire();
  }

  ~CivetwebEndpoint() override {
    if (context_ != nullptr) {
      // civetweb's accept loop notices the stop flag only when its poll returns, which takes up
      // to 2 s when nobody connects; connecting until mg_stop returns makes every stop (and so
      // every stage's shutdown) prompt.
      std::atomic<bool> stopped{false};
      std::thread waker([this, &stopped] {
        while (!stopped.load()) {
          ConnectAndClose(wake_host_, port_);
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      });
      // mg_stop waits for the worker threads, so no handler runs on a destroyed endpoint.
      mg_stop(context_);
      stopped = true;
      waker.join();
    }
    CivetwebLibrary::Release();
  }

  absl::Status Listen(const std::string& listen, const std::string& host) {
    wake_host_ = (host == "0.0.0.0") ? "127.0.0.1" : host;
    const std::string threads = absl::StrCat(kThreads);
    const std::string request_timeout_ms = absl::StrCat(kRequestTimeoutMs);
    // civetweb serves one connection per thread with blocking reads: without a deadline, a
    // handful of clients that connect and say nothing would hold every thread, and the probes
    // would queue behind them until the orchestrator restarts a healthy stage.
    const char* options[] = {"listening_ports", listen.c_str(), "num_threads", threads.c_str(),
                             "request_timeout_ms", request_timeout_ms.c_str(),
                             // One request per connection: an idle keep-alive client must not
                             // keep its thread between requests.
                             "enable_keep_alive", "no",
                             // No files are served: only the handlers below answer.
                             "enable_directory_listing", "no", nullptr};
    mg_callbacks callbacks{};
    char error_text[256] = {};
    mg_init_data init{};
    init.callbacks = &callbacks;
    init.user_data = this;
    init.configuration_options = options;
    mg_error_data error{};
    error.text = error_text;
    error.text_buffer_size = sizeof(error_text);
    context_ = mg_start2(&init, &error);
    if (context_ == nullptr) {
      return absl::UnavailableError(absl::StrCat(
          "cannot serve HTTP on \"", listen, "\": ", error_text[0] != '\0' ? error_text : "unknown",
          " (is the port in use or the address wrong?)"));
    }
    mg_set_request_handler(context_, "/healthz$", &CivetwebEndpoint::Healthz, this);
    mg_set_request_handler(context_, "/readyz$", &CivetwebEndpoint::Readyz, this);
    mg_set_request_handler(context_, "/metrics$", &CivetwebEndpoint::Metrics, this);
    mg_set_request_handler(context_, "/", &CivetwebEndpoint::NotFound, this);

    mg_server_port ports[4] = {};
    const int count = mg_get_server_ports(context_, 4, ports);
    if (count < 1) return absl::InternalError("civetweb started but reports no listening port");
    port_ = ports[0].port;
    return absl::OkStatus();
  }

  int port() const override { return port_; }

 private:
  static int Healthz(mg_connection* connection, void* /*self*/) {
    if (!IsGetOrHead(connection)) return MethodNotAllowed(connection);
    RespondWithCode(connection, 200, "text/plain; charset=utf-8", "ok\n");
    return 200;
  }

  static int Readyz(mg_connection* connection, void* self) {
    if (!IsGetOrHead(connection)) return MethodNotAllowed(connection);
    const auto* endpoint = static_cast<CivetwebEndpoint*>(self);
    const Readiness* readiness = endpoint->readiness_.get();
    const absl::Status status = readiness != nullptr ? readiness->Ready() : absl::OkStatus();
    std::string detail = readiness != nullptr ? readiness->detail() : "";
    if (!detail.empty()) detail.push_back('\n');
    if (status.ok()) {
      RespondWithCode(connection, 200, "text/plain; charset=utf-8",
                      absl::StrCat("ready\n", detail));
      return 200;
    }
    RespondWithCode(connection, 503, "text/plain; charset=utf-8",
                    absl::StrCat("not ready: ", status.message(), "\n", detail));
    return 503;
  }

  static int Metrics(mg_connection* connection, void* self) {
    if (!IsGetOrHead(connection)) return MethodNotAllowed(connection);
    const auto* endpoint = static_cast<CivetwebEndpoint*>(self);
    const std::string body = prometheus::TextSerializer().Serialize(endpoint->registry_->Collect());
    RespondWithCode(connection, 200, "text/plain; version=0.0.4; charset=utf-8", body);
    return 200;
  }

  static int NotFound(mg_connection* connection, void* /*self*/) {
    RespondWithCode(connection, 404, "text/plain; charset=utf-8",
                    "not found: try /healthz, /readyz or /metrics\n");
    return 404;
  }

  static int MethodNotAllowed(mg_connection* connection) {
    RespondWithCode(connection, 405, "text/plain; charset=utf-8", "only GET and HEAD\n");
    return 405;
  }

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<const Readiness> readiness_;  // null: always ready
  mg_context* context_ = nullptr;
  int port_ = 0;
  std::string wake_host_ = "127.0.0.1";  // where a connection reaches the listening socket
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Start(
    const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
    std::shared_ptr<const Readiness> readiness) {
  if (registry == nullptr) return absl::InvalidArgumentError("HttpEndpoint needs a registry");
  // civetweb takes "host:port"; a bare port would listen on every interface, which is only
  // right when the user says so.
  std::pair<std::string, std::string> host_port = absl::StrSplit(listen, absl::MaxSplits(':', 1));
  int port = 0;
  if (host_port.first.empty() || !absl::SimpleAtoi(host_port.second, &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--http_listen=\"", listen, "\" is not HOST:PORT (e.g. 0.0.0.0:7406 or 127.0.0.1:0)"));
  }
  auto endpoint = std::make_unique<CivetwebEndpoint>(std::move(registry), std::move(readiness));
  if (absl::Status status = endpoint->Listen(listen, host_port.first); !status.ok()) return status;
  return endpoint;
}

}  // namespace topicwire
