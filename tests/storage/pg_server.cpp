#include "tests/storage/pg_server.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;

namespace keepa::test {

namespace {

constexpr const char* bin_dir = "/usr/lib/postgresql/15/bin";

/// The unprivileged account the server runs as (PostgreSQL refuses root).
struct account {
  uid_t uid;
  gid_t gid;
};

account server_account() {
  for (auto name : {"postgres", "nobody"})
    if (auto pw = getpwnam(name))
      return {pw->pw_uid, pw->pw_gid};
  throw std::runtime_error("no unprivileged account (postgres or nobody)");
}

/// Runs `argv` as `acc` (when we are root) and returns its exit status.
int run_as(const account& acc, std::vector<std::string> argv,
           const std::string& log) {
  auto pid = fork();
  if (pid == 0) {
    if (getuid() == 0 && (setgid(acc.gid) != 0 || setuid(acc.uid) != 0))
      _exit(126);
    auto fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> args;
    for (auto& x : argv)
      args.push_back(x.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ; // retry
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

uint16_t free_port() {
  auto fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0
      || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot find a free loopback port");
  auto port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, {}};
}

} // namespace

pg_server& pg_server::instance() {
  static std::unique_ptr<pg_server> server;
  if (!server) {
    server.reset(new pg_server);
    try {
      server->start();
    } catch (const std::exception& e) {
      auto msg = std::string{e.what()};
      server.reset();
      FAIL("PostgreSQL test server: " << msg);
    }
  }
  return *server;
}

void pg_server::start() {
  auto initdb = std::string{bin_dir} + "/initdb";
  auto pg_ctl = std::string{bin_dir} + "/pg_ctl";
  if (access(initdb.c_str(), X_OK) != 0 || access(pg_ctl.c_str(), X_OK) != 0)
    throw std::runtime_error(std::string{"PostgreSQL 15 is not installed ("}
                             + bin_dir + "); run tools/setup.sh");
  auto acc = server_account();
  char tmpl[] = "/tmp/keepa-pg-XXXXXX";
  if (mkdtemp(tmpl) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  if (chown(dir_.c_str(), acc.uid, acc.gid) != 0 && getuid() == 0)
    throw std::runtime_error("cannot chown " + dir_);
  auto data = dir_ + "/data";
  auto log = dir_ + "/server.log";
  auto port = std::to_string(free_port());
  // The guardian: stops the server and removes the directory once the
  // write end of its pipe closes, i.e. when this process exits or dies.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe2 failed");
  auto pid = fork();
  if (pid == 0) {
    close(fds[1]);
    char c;
    while (read(fds[0], &c, 1) != 0 && errno == EINTR)
      ; // wait for EOF
    run_as(acc, {pg_ctl, "stop", "-D", data, "-m", "immediate", "-w"},
           "/dev/null");
    std::error_code ec;
    fs::remove_all(dir_, ec);
    _exit(0);
  }
  close(fds[0]);
  guardian_pipe_ = fds[1];
  guardian_pid_ = pid;
  if (run_as(acc,
             {initdb, "-D", data, "--username=keepa", "--auth=trust",
              "--encoding=UTF8", "--no-sync", "--locale=C"},
             log)
      != 0)
    throw std::runtime_error("initdb failed: " + read_file(log));
  auto opts = "-c listen_addresses=127.0.0.1 -c unix_socket_directories="
              + dir_ + " -p " + port + " -c fsync=off";
  if (run_as(acc, {pg_ctl, "start", "-D", data, "-w", "-t", "30", "-l", log,
                   "-o", opts},
             dir_ + "/pg_ctl.log")
      != 0)
    throw std::runtime_error("pg_ctl start failed: "
                             + read_file(dir_ + "/pg_ctl.log")
                             + read_file(log));
  conninfo_ = "host=127.0.0.1 port=" + port + " dbname=postgres user=keepa"
              + " connect_timeout=10";
}

pg_server::~pg_server() {
  if (guardian_pipe_ >= 0) {
    close(guardian_pipe_);
    int status = 0;
    waitpid(guardian_pid_, &status, 0);
  }
}

} // namespace keepa::test
