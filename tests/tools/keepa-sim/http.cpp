// The HTTP face over real loopback sockets: an in-process server on a
// thread (port 0) and the keepa-sim executable as a child process. Every
// wait is bounded by socket timeouts or poll().

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include <httplib.h>

#include "tests/support/sim_helpers.hpp"
#include "tests/tools/keepa-sim/live_server.hpp"
#include "tools/keepa-sim/server.hpp"

using namespace sim_test;

namespace {

keepa::sim::options wall() {
  keepa::sim::options o;
  o.products = 500;
  return o;
}

/// Sends raw bytes, then reads until the server closes (bounded).
std::string raw_exchange(int port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

} // namespace

TEST_CASE("sim http: token, product and deal over loopback", "[sim]") {
  live_server s{wall()};
  auto c = s.client();
  auto t = c.Get("/token?key=sim-key");
  REQUIRE(t);
  CHECK(t->status == 200);
  auto d = parse(t->body);
  CHECK(d["tokensLeft"].GetInt64() == 300);
  auto asins = s.model.asins();
  auto p
    = c.Get(("/product?key=sim-key&domain=1&stats=90&asin=" + join(asins, 100))
              .c_str());
  REQUIRE(p);
  CHECK(p->status == 200);
  auto pd = parse(p->body);
  CHECK(pd["products"].Size() == 100);
  CHECK(pd["tokensConsumed"].GetInt() == 100);
  // selection URL-encoded in the query, and POSTed as the body.
  auto sel = httplib::detail::encode_query_param(selection(1));
  auto g = c.Get(("/deal?key=sim-key&selection=" + sel).c_str());
  REQUIRE(g);
  CHECK(g->status == 200);
  auto post = c.Post("/deal?key=sim-key", selection(1), "application/json");
  REQUIRE(post);
  CHECK(post->status == 200);
  CHECK(parse(post->body)["deals"]["dr"].Size()
        == parse(g->body)["deals"]["dr"].Size());
  auto bad = c.Get("/product?key=wrong&domain=1&asin=0000000000");
  REQUIRE(bad);
  CHECK(bad->status == 402);
  auto missing = c.Get("/nowhere?key=sim-key");
  REQUIRE(missing);
  CHECK(missing->status == 404);
}

TEST_CASE("sim http: gzip when asked, identical JSON after gunzip", "[sim]") {
  auto o = wall();
  o.update_rate = 0;
  live_server s{o};
  auto c = s.client();
  c.set_decompress(false);
  auto url = "/product?key=sim-key&domain=1&history=0&stats=30&asin="
    + join(s.model.asins(), 20);
  auto plain = c.Get(url.c_str());
  REQUIRE(plain);
  CHECK_FALSE(plain->has_header("Content-Encoding"));
  auto zipped = c.Get(url.c_str(), {{"Accept-Encoding", "gzip"}});
  REQUIRE(zipped);
  CHECK(zipped->get_header_value("Content-Encoding") == "gzip");
  CHECK(zipped->body.size() < plain->body.size());
  auto body = gunzip(zipped->body);
  auto a = parse(plain->body);
  auto b = parse(body);
  REQUIRE_FALSE(b.HasParseError());
  CHECK(a["products"] == b["products"]);
}

TEST_CASE("sim http: gzip for what curl --compressed offers, never brotli; "
          "gzip;q=0 is a refusal",
          "[sim]") {
  // Keepa answers gzip (shared/keepa-api.md); brotli at cpp-httplib's
  // quality 11 took 370 ms per 268 KB answer.
  auto o = wall();
  o.update_rate = 0;
  live_server s{o};
  auto c = s.client();
  c.set_decompress(false);
  auto url = "/product?key=sim-key&domain=1&stats=30&asin="
    + join(s.model.asins(), 20);
  auto plain = c.Get(url.c_str());
  REQUIRE(plain);
  auto encoded = [&](const char* accept) {
    auto r = c.Get(url.c_str(), {{"Accept-Encoding", accept}});
    REQUIRE(r);
    CHECK(r->status == 200);
    return std::make_pair(r->get_header_value("Content-Encoding"), r->body);
  };
  for (auto accept :
       {"deflate, gzip, br, zstd", "br;q=1.0, gzip;q=0.5", "GZIP", "x-gzip"}) {
    INFO("Accept-Encoding: " << accept);
    auto [encoding, body] = encoded(accept);
    CHECK(encoding == "gzip");
    CHECK(parse(gunzip(body))["products"] == parse(plain->body)["products"]);
  }
  for (auto accept : {"br", "gzip;q=0, br", "gzip; q=0.000", "identity"}) {
    INFO("Accept-Encoding: " << accept);
    auto [encoding, body] = encoded(accept);
    CHECK(encoding.empty());
    CHECK(parse(body)["products"] == parse(plain->body)["products"]);
  }
}

TEST_CASE("sim http: accepted connections have TCP_NODELAY (no 40 ms "
          "delayed-ACK stall on kept-alive answers)",
          "[sim]") {
  // With Nagle on, an answer's last part waits for the client's delayed
  // ACK (~40 ms) when headers and body go out as two writes: 21 req/s for
  // gzip answers. Checked on the server's end of a kept-alive connection.
  live_server s{wall()};
  auto c = s.client();
  c.set_keep_alive(true);
  auto r = c.Get("/token?key=sim-key", {{"Accept-Encoding", "gzip"}});
  REQUIRE(r);
  // This process holds both ends: the accepted socket is the one whose
  // local port is the server's and that has a peer.
  int found = 0;
  for (int fd = 0; fd < 1024; ++fd) {
    sockaddr_in local{};
    sockaddr_in peer{};
    socklen_t len = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0
        || local.sin_family != AF_INET || ntohs(local.sin_port) != s.port)
      continue;
    len = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0)
      continue; // the listener
    int nodelay = 0;
    len = sizeof(nodelay);
    REQUIRE(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len) == 0);
    CHECK(nodelay != 0);
    ++found;
  }
  CHECK(found >= 1);
}

TEST_CASE("sim http: survives garbage on the socket and oversized "
          "requests",
          "[sim]") {
  live_server s{wall()};
  std::string garbage;
  for (int i = 0; i < 3000; ++i)
    garbage.push_back(static_cast<char>((i * 131 + 7) % 256));
  raw_exchange(s.port, garbage);
  auto reply = raw_exchange(s.port,
                            "GET /token?key=sim-key HTTP/1.1\r\n"
                            "Host: x\r\nContent-Length: -5\r\n\r\n");
  raw_exchange(s.port, std::string(100000, 'A') + "\r\n\r\n");
  auto c = s.client();
  auto long_uri = c.Get(
    ("/product?key=sim-key&domain=1&asin=" + std::string(20000, 'B')).c_str());
  REQUIRE(long_uri);
  CHECK(long_uri->status == 414);
  auto big = c.Post("/deal?key=sim-key", std::string(2 << 20, '{'),
                    "application/json");
  if (big)
    CHECK(big->status == 413);
  // Still serving.
  auto t = s.client().Get("/token?key=sim-key");
  REQUIRE(t);
  CHECK(t->status == 200);
}

TEST_CASE("sim http: timeouts hold then close, resets close, latency "
          "delays",
          "[sim]") {
  SECTION("timeout") {
    auto o = wall();
    o.rate_timeout = 1;
    o.timeout_hold_ms = 300;
    live_server s{o};
    auto c = s.client();
    auto start = std::chrono::steady_clock::now();
    auto r = c.Get("/token?key=sim-key");
    auto took = std::chrono::steady_clock::now() - start;
    CHECK_FALSE(r);
    CHECK(took >= std::chrono::milliseconds{300});
  }
  SECTION("reset") {
    auto o = wall();
    o.rate_reset = 1;
    live_server s{o};
    auto r = s.client().Get("/token?key=sim-key");
    CHECK_FALSE(r);
  }
  SECTION("latency") {
    auto o = wall();
    o.latency_ms = 200;
    live_server s{o};
    auto start = std::chrono::steady_clock::now();
    auto r = s.client().Get("/token?key=sim-key");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(std::chrono::steady_clock::now() - start
          >= std::chrono::milliseconds{200});
    CHECK(parse(r->body)["processingTimeInMs"].GetInt() == 200);
  }
}

TEST_CASE("sim http: the keepa-sim executable prints its port, never the "
          "key, and exits 0 on SIGTERM or SIGINT",
          "[sim]") {
  // The key comes from the environment or from a key file.
  const std::string key = "s3cret-KEY-value";
  auto from_file = GENERATE(false, true);
  const std::string key_path = "keepa_sim_test.key";
  if (from_file) {
    std::ofstream{key_path} << key << "\n";
  }
  int out[2];
  int err[2];
  REQUIRE(pipe(out) == 0);
  REQUIRE(pipe(err) == 0);
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    if (from_file) {
      unsetenv("KEEPA_SIM_KEY");
      auto key_file = "--sim.key-file=" + key_path;
      execl(KEEPA_SIM_EXE, KEEPA_SIM_EXE, "--sim.port=0", "--sim.products=300",
            key_file.c_str(), static_cast<char*>(nullptr));
    } else {
      setenv("KEEPA_SIM_KEY", key.c_str(), 1);
      execl(KEEPA_SIM_EXE, KEEPA_SIM_EXE, "--sim.port=0", "--sim.products=300",
            static_cast<char*>(nullptr));
    }
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  // Reads whatever arrives on fd within the deadline, until EOF.
  auto drain = [](int fd, int ms, bool until_newline) {
    std::string text;
    auto deadline = std::chrono::steady_clock::now()
      + std::chrono::milliseconds{ms};
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
      if (left <= 0)
        break;
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0)
        break;
      char buf[512];
      auto n = read(fd, buf, sizeof(buf));
      if (n <= 0)
        break;
      text.append(buf, static_cast<size_t>(n));
      if (until_newline && text.find('\n') != std::string::npos)
        break;
    }
    return text;
  };
  auto first = drain(out[0], 20000, true);
  INFO(first);
  REQUIRE(first.rfind("listening on 127.0.0.1:", 0) == 0);
  auto port = std::stoi(first.substr(first.rfind(':') + 1));
  httplib::Client c{"127.0.0.1", port};
  c.set_connection_timeout(2);
  c.set_read_timeout(5);
  auto ok = c.Get(("/token?key=" + key).c_str());
  REQUIRE(ok);
  CHECK(ok->status == 200);
  auto no = c.Get("/token?key=sim-key");
  REQUIRE(no);
  CHECK(no->status == 402);
  kill(pid, from_file ? SIGINT : SIGTERM);
  auto rest = first + drain(out[0], 10000, false);
  auto errors = drain(err[0], 10000, false);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  close(out[0]);
  close(err[0]);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(rest.find(key) == std::string::npos);
  CHECK(errors.find(key) == std::string::npos);
  std::remove(key_path.c_str());
}

TEST_CASE("sim http: /sim/stats and /sim/served report the bucket and the "
          "deals served per locale, only with the key",
          "[sim]") {
  live_server s{wall()};
  auto c = s.client();
  auto sel = R"({"domainId":2,"priceTypes":[2],"dateRange":0,"sortType":1,)"
             R"("page":0})";
  auto deal = c.Post("/deal?key=sim-key", sel, "application/json");
  REQUIRE(deal);
  REQUIRE(deal->status == 200);
  auto shown = parse(deal->body)["deals"]["dr"].Size();
  REQUIRE(shown > 0);
  auto stats = c.Get("/sim/stats?key=sim-key");
  REQUIRE(stats);
  CHECK(stats->status == 200);
  auto d = parse(stats->body);
  CHECK(d["initial"].GetInt64() == 300);
  CHECK(d["charged"].GetInt64() == 5);
  CHECK(d["charged_by_domain"]["2"].GetInt64() == 5);
  CHECK(d["balance"].GetInt64() == 295);
  CHECK(d["min_balance"].GetInt64() == 295);
  CHECK(d["refused"].GetInt64() == 0);
  auto served = c.Get("/sim/served?key=sim-key&domain=2");
  REQUIRE(served);
  CHECK(served->status == 200);
  CHECK(parse(served->body)["deals"].Size() == shown);
  auto us = c.Get("/sim/served?key=sim-key");
  REQUIRE(us);
  CHECK(parse(us->body)["deals"].Size() == 0);
  for (auto path : {"/sim/stats", "/sim/stats?key=wrong", "/sim/served"}) {
    auto refused = c.Get(path);
    REQUIRE(refused);
    CHECK(refused->status == 402);
    CHECK(refused->body.find("balance") == std::string::npos);
  }
}
