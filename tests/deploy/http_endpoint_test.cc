// HttpEndpoint over real loopback sockets: each path, readiness flipping, metrics content.
#include "common/http_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/readiness.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "tests/testing/prelude.h"

namespace topicwire {
namespace {

using namespace ::topicwire::testing::prelude;

struct HttpResponse {
  int code = 0;
  std::string headers;
  std::string body;
};

// A TCP connection to 127.0.0.1:port, or -1.
int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// One HTTP/1.0 request over a fresh TCP connection; the server closes when done.
absl::StatusOr<HttpResponse> Request(int port, const std::string& method, const std::string& path) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot connect to port ", port));
  timeval timeout{.tv_sec = 5, .tv_usec = 0};  // a hung server fails the test instead of CI
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  const std::string request =
      absl::StrCat(method, " ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::InternalError("short write");
  }
  std::string raw;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) raw.append(buffer, static_cast<size_t>(n));
  close(fd);
  const size_t header_end = raw.find("\r\n\r\n");
  if (header_end == std::string::npos) return absl::DataLossError("no header end: " + raw);
  HttpResponse response;
  response.headers = raw.substr(0, header_end);
  response.body = raw.substr(header_end + 4);
  std::vector<std::string> status_line = absl::StrSplit(response.headers, absl::MaxSplits(' ', 2));
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &response.code)) {
    return absl::DataLossError("bad status line: " + response.headers);
  }
  return response;
}

class HttpEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto endpoint = HttpEndpoint::Start("127.0.0.1:0", registry_, readiness_);
    ASSERT_THAT(endpoint.status(), IsOk());
    endpoint_ = *std::move(endpoint);
    ASSERT_GT(endpoint_->port(), 0);
  }

  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<Readiness> readiness_ =
      std::make_shared<Readiness>(std::vector<std::string>{"no path to sink"});
  std::unique_ptr<HttpEndpoint> endpoint_;
};

TEST_F(HttpEndpointTest, HealthzAnswersOk) {
  absl::StatusOr<HttpResponse> response = Request(endpoint_->port(), "GET", "/healthz");
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->code, 200);
  EXPECT_EQ(response->body, "ok\n");
}

TEST_F(HttpEndpointTest, ReadyzFollowsTheReadinessCheck) {
  absl::StatusOr<HttpResponse> not_ready = Request(endpoint_->port(), "GET", "/readyz");
  ASSERT_THAT(not_ready.status(), IsOk());
  EXPECT_EQ(not_ready->code, 503);
  EXPECT_THAT(not_ready->body, HasSubstr("no path to sink"));

  readiness_->Set(0, true);
  absl::StatusOr<HttpResponse> ready = Request(endpoint_->port(), "GET", "/readyz");
  ASSERT_THAT(ready.status(), IsOk());
  EXPECT_EQ(ready->code, 200);
  EXPECT_EQ(ready->body, "ready\n");

  readiness_->Set(0, false);
  absl::StatusOr<HttpResponse> again = Request(endpoint_->port(), "GET", "/readyz");
  ASSERT_THAT(again.status(), IsOk());
  EXPECT_EQ(again->code, 503);
}

TEST_F(HttpEndpointTest, ReadyzAddsTheDetailLineReadyOrNot) {
  readiness_->SetDetail("taxonomy v7 (reloads: 1 ok, 0 refused)");
  absl::StatusOr<HttpResponse> not_ready = Request(endpoint_->port(), "GET", "/readyz");
  ASSERT_THAT(not_ready.status(), IsOk());
  EXPECT_EQ(not_ready->body,
            "not ready: no path to sink\ntaxonomy v7 (reloads: 1 ok, 0 refused)\n");

  readiness_->Set(0, true);
  absl::StatusOr<HttpResponse> ready = Request(endpoint_->port(), "GET", "/readyz");
  ASSERT_THAT(ready.status(), IsOk());
  EXPECT_EQ(ready->body, "ready\ntaxonomy v7 (reloads: 1 ok, 0 refused)\n");
}

TEST_F(HttpEndpointTest, MetricsShowsRegisteredCounterInTextFormat) {
  auto& family = prometheus::BuildCounter()
                     .Name("topicwire_articles_received_total")
                     .Help("Articles received")
                     .Register(*registry_);
  family.Add({{"stage", "ingest"}}).Increment(3);

  absl::StatusOr<HttpResponse> response = Request(endpoint_->port(), "GET", "/metrics");
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->code, 200);
  EXPECT_THAT(response->headers, HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(response->body, HasSubstr("# TYPE topicwire_articles_received_total counter"));
  EXPECT_THAT(response->body, HasSubstr("topicwire_articles_received_total{stage=\"ingest\"} 3"));
}

TEST_F(HttpEndpointTest, HeadHasHeadersButNoBody) {
  absl::StatusOr<HttpResponse> response = Request(endpoint_->port(), "HEAD", "/healthz");
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->code, 200);
  EXPECT_THAT(response->headers, HasSubstr("Content-Length: 3"));
  EXPECT_EQ(response->body, "");
}

TEST_F(HttpEndpointTest, UnknownPathIsNotFound) {
  absl::StatusOr<HttpResponse> response = Request(endpoint_->port(), "GET", "/metricsz");
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->code, 404);
  EXPECT_THAT(response->body, HasSubstr("/healthz"));
}

TEST_F(HttpEndpointTest, PostIsRefused) {
  absl::StatusOr<HttpResponse> response = Request(endpoint_->port(), "POST", "/healthz");
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->code, 405);
}

// Connections that hold a server thread the way a slow or hostile client does: some send nothing,
// some trickle a request that never ends, one byte every 100 ms, and some send a whole request,
// never read the answer and go on trickling bytes after it.
class SlowClients {
 public:
  SlowClients(int port, int silent, int trickling, int trickling_after_request = 0) {
    for (int i = 0; i < silent + trickling + trickling_after_request; ++i) {
      const int fd = ConnectLoopback(port);
      EXPECT_GE(fd, 0);
      if (fd < 0) continue;
      if (i < silent) {
        silent_.push_back(fd);
      } else if (i < silent + trickling) {
        trickling_.push_back(fd);
      } else {
        const std::string request = "GET /metrics HTTP/1.0\r\n\r\n";
        EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(request.size()));
        trickling_after_request_.push_back(fd);
      }
    }
    trickler_ = std::thread([this] {
      const std::string request = "GET /healthz HTTP/1.0\r\nX-Padding: ";
      size_t next = 0;
      while (!stop_.load()) {
        const char byte = next < request.size() ? request[next] : 'x';
        ++next;
        for (const int fd : trickling_) send(fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        for (const int fd : trickling_after_request_) send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  ~SlowClients() {
    stop_ = true;
    trickler_.join();
    for (const int fd : silent_) close(fd);
    for (const int fd : trickling_) close(fd);
    for (const int fd : trickling_after_request_) close(fd);
  }

 private:
  std::vector<int> silent_;
  std::vector<int> trickling_;
  std::vector<int> trickling_after_request_;
  std::atomic<bool> stop_{false};
  std::thread trickler_;
};

// More slow clients than the server has threads, all connected before the probe: the probe
// waits for at most one request timeout per full set of threads they occupy ahead of it.
TEST_F(HttpEndpointTest, ProbesAnswerWhileMoreSlowClientsThanThreadsAreConnected) {
  readiness_->Set(0, true);
  constexpr int kSilent = HttpEndpoint::kThreads;
  constexpr int kTrickling = HttpEndpoint::kThreads / 2;
  constexpr int kTricklingAfterRequest = HttpEndpoint::kThreads / 2;
  SlowClients slow(endpoint_->port(), kSilent, kTrickling, kTricklingAfterRequest);
  // The slow clients are queued ahead: a probe is answered once they have held their threads
  // for a request timeout (kThreads at a time), plus time for a loaded test machine.
  constexpr int kSlow = kSilent + kTrickling + kTricklingAfterRequest;
  constexpr int kWaves = (kSlow + HttpEndpoint::kThreads - 1) / HttpEndpoint::kThreads;
  const absl::Duration bound =
      absl::Milliseconds(HttpEndpoint::kRequestTimeoutMs) * kWaves + absl::Seconds(1);
  for (const char* path : {"/healthz", "/readyz", "/healthz"}) {
    const absl::Time start = absl::Now();
    absl::StatusOr<HttpResponse> response = Request(endpoint_->port(), "GET", path);
    const absl::Duration took = absl::Now() - start;
    std::cout << path << " answered in " << absl::FormatDuration(took) << " with " << kSilent
              << " silent, " << kTrickling << " trickling and " << kTricklingAfterRequest
              << " trickling-after-a-request clients connected\n";
    ASSERT_THAT(response.status(), IsOk()) << path << " did not answer";
    EXPECT_EQ(response->code, 200) << path;
    EXPECT_LT(took, bound) << path << " waited behind the slow clients";
  }
}

TEST(HttpEndpointStartTest, MalformedListenAddressIsInvalidArgument) {
  auto registry = std::make_shared<prometheus::Registry>();
  for (const char* listen : {"7406", ":7406", "127.0.0.1:http", "127.0.0.1:70000"}) {
    EXPECT_THAT(HttpEndpoint::Start(listen, registry, nullptr).status(),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << listen;
  }
}

TEST(HttpEndpointStartTest, PortInUseIsUnavailable) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto first = HttpEndpoint::Start("127.0.0.1:0", registry, nullptr);
  ASSERT_THAT(first.status(), IsOk());
  auto second =
      HttpEndpoint::Start(absl::StrCat("127.0.0.1:", (*first)->port()), registry, nullptr);
  EXPECT_THAT(second.status(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(HttpEndpointStartTest, NullReadinessCheckMeansReady) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto endpoint = HttpEndpoint::Start("127.0.0.1:0", registry, nullptr);
  ASSERT_THAT(endpoint.status(), IsOk());
  absl::StatusOr<HttpResponse> response = Request((*endpoint)->port(), "GET", "/readyz");
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->code, 200);
}

}  // namespace
}  // namespace topicwire
