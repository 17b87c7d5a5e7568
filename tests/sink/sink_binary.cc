#include "tests/sink/sink_binary.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "tests/testing/articles.h"
#include "tests/testing/test_util.h"

namespace topicwire::sink::testing {

int64_t StatusKib(pid_t pid, const std::string& field) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

bool UnderAddressSanitizer() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

v1::Delivery MakeDelivery(uint64_t journal_seq, const std::string& id,
                          const std::vector<std::string>& topics, size_t body_bytes) {
  v1::Delivery delivery;
  delivery.set_journal_seq(journal_seq);
  *delivery.mutable_tagged() = ::topicwire::testing::MakeTaggedArticle(id, topics);
  if (body_bytes > 0) {
    delivery.mutable_tagged()->mutable_article()->set_body(std::string(body_bytes, 'b'));
  }
  *delivery.mutable_tagged()->mutable_accepted_at() =
      google::protobuf::util::TimeUtil::GetCurrentTime();
  return delivery;
}

SinkBinary::SinkBinary(std::string dir, std::string commit_endpoint, int base_port)
    : dir_(std::move(dir)),
      commit_endpoint_(std::move(commit_endpoint)),
      store_path_(dir_ + "/store.db"),
      base_port_(base_port) {}

absl::StatusOr<std::unique_ptr<SinkBinary>> SinkBinary::Start(
    const std::string& dir, const std::string& commit_endpoint,
    const std::vector<std::string>& extra_flags) {
  std::unique_ptr<SinkBinary> sink(
      new SinkBinary(dir, commit_endpoint, ::topicwire::testing::FreeLoopbackPortRange(4)));
  absl::Status started = sink->Restart(extra_flags);
  if (!started.ok()) return started;
  return sink;
}

absl::Status SinkBinary::Restart(const std::vector<std::string>& extra_flags) {
  std::vector<std::string> argv = {::topicwire::testing::BinDir() + "/sink",
                                   "--input_endpoint=" + input_endpoint(),
                                   "--stream_endpoint=" + stream_endpoint(),
                                   "--history_endpoint=" + history_endpoint(),
                                   "--commit_endpoint=" + commit_endpoint_,
                                   absl::StrCat("--http_listen=127.0.0.1:", base_port_ + 3),
                                   "--store=" + store_path_,
                                   "--fsync=false",
                                   "--linger_ms=0"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  process_.reset();  // kills and reaps a previous run that is still there
  absl::StatusOr<Subprocess> process = Subprocess::Start(argv, dir_ + "/sink.log");
  if (!process.ok()) return process.status();
  process_ = std::make_unique<Subprocess>(*std::move(process));
  return absl::OkStatus();
}

std::string SinkBinary::input_endpoint() const {
  return absl::StrCat("tcp://127.0.0.1:", base_port_);
}
std::string SinkBinary::stream_endpoint() const {
  return absl::StrCat("tcp://127.0.0.1:", base_port_ + 1);
}
std::string SinkBinary::history_endpoint() const {
  return absl::StrCat("tcp://127.0.0.1:", base_port_ + 2);
}

absl::StatusOr<std::string> SinkBinary::HttpGet(const std::string& path) const {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(base_port_ + 3));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{.tv_sec = 2, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return absl::UnavailableError("sink's HTTP endpoint does not answer");
  }
  const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: x\r\n\r\n");
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError("cannot send the HTTP request");
  }
  std::string response;
  char buffer[4096];
  while (true) {
    const ssize_t got = read(fd, buffer, sizeof(buffer));
    if (got <= 0) break;
    response.append(buffer, static_cast<size_t>(got));
  }
  close(fd);
  if (response.empty()) return absl::UnavailableError("empty HTTP response");
  return response;
}

double SinkBinary::Metric(const std::string& name) const {
  absl::StatusOr<std::string> metrics = HttpGet("/metrics");
  if (!metrics.ok()) return -1;
  double sum = 0;
  bool found = false;
  for (absl::string_view line : absl::StrSplit(*metrics, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    if (!absl::StartsWith(line, name)) continue;
    const absl::string_view rest = line.substr(name.size());
    if (!rest.empty() && rest[0] != ' ' && rest[0] != '{') continue;
    double value = 0;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) {
      sum += value;
      found = true;
    }
  }
  return found ? sum : -1;
}

std::string SinkBinary::LogTail() const {
  const std::string log = ::topicwire::testing::ReadFile(dir_ + "/sink.log");
  return log.size() > 4000 ? log.substr(log.size() - 4000) : log;
}

}  // namespace topicwire::sink::testing
