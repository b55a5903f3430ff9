// Optimistic concurrency from the client: a command that names the version it expects its aggregate at.
//
//   auto state = rt.get<order>("o-1");                                     // read at version 7
//   auto r = rt.execute<order>("o-1", submit_order{}, cairn::expect_version{7});
//   if (r.code == cairn::command_errc::conflict) { ... someone changed it since: read again, decide again ... }
//
// The instance checks the expectation when the command's turn comes (after the commands before it have
// committed): at another version the answer is `conflict`, with the current version in command_result::version,
// and nothing is decided or written. expect_version{0} means "only if it does not exist yet". send(), ask() and
// execute() take it (runtime.hpp).
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>

namespace cairn {

/// The version a command expects its aggregate at; `conflict` when the aggregate is at another one.
struct expect_version {
  std::uint64_t version = 0;
};

} // namespace cairn
