// keepa-sim's HTTP face in a test: a model served on 127.0.0.1 (port 0)
// from a thread, and gunzip for its answers.

#pragma once

#include <catch2/catch.hpp>

#include <zlib.h>

#include <string>
#include <thread>

#include <httplib.h>

#include "tools/keepa-sim/server.hpp"

namespace sim_test {

/// A model served on 127.0.0.1 from a thread; stops on destruction.
struct live_server {
  keepa::sim::model model;
  keepa::sim::server srv;
  int port;
  std::thread thread;

  explicit live_server(keepa::sim::options o)
    : model(std::move(o)),
      srv(model, keepa::sim::server_options{}),
      port(srv.bind()) {
    REQUIRE(port > 0);
    thread = std::thread{[this] { srv.run(); }};
  }

  ~live_server() {
    srv.stop();
    thread.join();
  }

  httplib::Client client() const {
    httplib::Client c{"127.0.0.1", port};
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    c.set_write_timeout(5);
    return c;
  }
};

/// `in` inflated from one gzip member; fails the test when it is not gzip.
inline std::string gunzip(const std::string& in) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK);
  std::string out;
  char buf[1 << 15];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    REQUIRE((rc == Z_OK || rc == Z_STREAM_END));
    out.append(buf, sizeof(buf) - z.avail_out);
  } while (rc != Z_STREAM_END);
  inflateEnd(&z);
  return out;
}

} // namespace sim_test
