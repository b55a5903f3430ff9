// The order service's own request and response values: what the socket-free core (service.hpp) takes and gives,
// so that the HTTP server, the tests and a fuzzer all drive the same code without a socket.
//
// Thread-safety: value types.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cairn::order_service {

/// One HTTP request as the core sees it: already framed and size-checked by whoever read it.
struct request {
  std::string method; ///< "GET", "POST", "DELETE", ...
  std::string target; ///< the origin-form target: "/orders/o-1/events?from=3"
  std::string body;
  /// The If-Match header's value, when the request has one (order commands: docs/order_service.md).
  std::optional<std::string> if_match{};
};

/// One HTTP response: a status code and a body (JSON unless content_type says otherwise).
struct response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  /// The ETag header's value, e.g. "\"7\"" (quotes included), when there is one: empty for none.
  std::string etag{};
};

/// {"error": message, "code": code} with the given status; `code` is a stable name for programs ("bad_request",
/// "not_found", "storage_failure", ...), by default the status's. Messages never quote server paths or the
/// store's own messages: those are logged (stderr), not sent.
response error_response(unsigned status, std::string_view message, std::string_view code = {});

} // namespace cairn::order_service
