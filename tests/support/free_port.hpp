// Test support: a loopback TCP port nobody listens on now, for a test that must name its ports up front (a cluster
// file). Another process could take it before the test binds it; on a test machine that is rare, and a port
// already taken makes the test's start fail loudly rather than pass wrongly.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace cairn::test {

inline std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error{"free_port: no socket"};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok)
    throw std::runtime_error{"free_port: no free loopback port"};
  return ntohs(addr.sin_port);
}

} // namespace cairn::test
