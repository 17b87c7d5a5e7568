#include "chaos/metrics_scrape.h"

#include <civetweb.h>

#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace topicwire::chaos {
namespace {

struct Response {
  int status = 0;
  std::string body;
};

absl::StatusOr<Response> Get(int port, const std::string& path, absl::Duration timeout) {
  static std::once_flag initialized;
  std::call_once(initialized, [] { mg_init_library(0); });
  char error[256] = "";
  mg_connection* connection = mg_connect_client("127.0.0.1", port, 0, error, sizeof(error));
  if (connection == nullptr) {
    return absl::UnavailableError(absl::StrCat("127.0.0.1:", port, ": ", error));
  }
  mg_printf(connection, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path.c_str());
  if (mg_get_response(connection, error, sizeof(error),
                      static_cast<int>(absl::ToInt64Milliseconds(timeout))) < 0) {
    mg_close_connection(connection);
    return absl::UnavailableError(absl::StrCat("127.0.0.1:", port, path, ": ", error));
  }
  Response response;
  if (const mg_response_info* info = mg_get_response_info(connection); info != nullptr) {
    response.status = info->status_code;
  }
  char buffer[16384];
  int got;
  while ((got = mg_read(connection, buffer, sizeof(buffer))) > 0) {
    response.body.append(buffer, static_cast<size_t>(got));
  }
  mg_close_connection(connection);
  return response;
}

}  // namespace

std::optional<double> FindMetric(absl::string_view text, absl::string_view name) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, name)) continue;
    // "name 12" or "name{} 12"; a longer metric name sharing the prefix does not match.
    absl::ConsumePrefix(&line, "{}");
    if (!absl::ConsumePrefix(&line, " ")) continue;
    double value = 0;
    if (absl::SimpleAtod(absl::StripAsciiWhitespace(line), &value)) return value;
  }
  return std::nullopt;
}

absl::StatusOr<double> ScrapeMetric(int port, const std::string& name, absl::Duration timeout) {
  absl::StatusOr<Response> response = Get(port, "/metrics", timeout);
  if (!response.ok()) return response.status();
  std::optional<double> value = FindMetric(response->body, name);
  if (!value.has_value()) {
    return absl::NotFoundError(absl::StrCat("no ", name, " on 127.0.0.1:", port, "/metrics"));
  }
  return *value;
}

bool IsReady(int port, absl::Duration timeout) {
  absl::StatusOr<Response> response = Get(port, "/readyz", timeout);
  return response.ok() && response->status == 200;
}

}  // namespace topicwire::chaos
