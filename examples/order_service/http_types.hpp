// The order service's own request and response values: what the socket-free core (service.hpp) takes and gives,
// so that the HTTP server, the tests and a fuzzer all drive the same code without a socket.
//
// Thread-safety: value types.
#pragma once

#include <string>
#include <string_view>

namespace cairn::order_service {

/// One HTTP request as the core sees it: already framed and size-checked by whoever read it.
struct request {
  std::string method; ///< "GET", "POST", "DELETE", ...
  std::string target; ///< the origin-form target: "/orders/o-1/events?from=3"
  std::string body;
};

/// One HTTP response: a status code and a body (JSON unless content_type says otherwise).
struct response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
};

/// {"error": message} with the given status.
response error_response(unsigned status, std::string_view message);

} // namespace cairn::order_service
