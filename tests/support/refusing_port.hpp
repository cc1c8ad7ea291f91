// A loopback port that refuses connections: bound but never listened on,
// so no other test (a parallel test's server) can take it meanwhile.

#pragma once

#include <cstdint>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace keepa::test {

class refusing_port {
public:
  refusing_port() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0)
      throw std::runtime_error("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
        || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd_);
      throw std::runtime_error("cannot bind a loopback port");
    }
    port_ = ntohs(addr.sin_port);
  }

  ~refusing_port() {
    ::close(fd_);
  }

  refusing_port(const refusing_port&) = delete;
  refusing_port& operator=(const refusing_port&) = delete;

  uint16_t port() const {
    return port_;
  }

private:
  int fd_;
  uint16_t port_ = 0;
};

} // namespace keepa::test
