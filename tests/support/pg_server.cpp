#include "tests/support/pg_server.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <stdexcept>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/prctl.h>
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

/// Tells the guardian which process groups to kill if we die meanwhile:
/// "+<pgid>" when one starts, "-<pgid>" when it ended.
void tell(int guard_fd, char op, pid_t pgid) {
  if (guard_fd < 0)
    return;
  auto msg = op + std::to_string(pgid) + "\n";
  if (write(guard_fd, msg.data(), msg.size()) < 0) {
    // The guardian is gone; nothing else to do.
  }
}

/// Runs `argv` as `acc` (when we are root) in a process group of its own
/// and returns its exit status.
int run_as(const account& acc, std::vector<std::string> argv,
           const std::string& log, int guard_fd = -1) {
  auto pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    if (getuid() == 0 && (setgid(acc.gid) != 0 || setuid(acc.uid) != 0))
      _exit(126);
    // Dies with the test process (set after setuid, which clears it).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
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
  setpgid(pid, pid);
  tell(guard_fd, '+', pid);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ; // retry
  tell(guard_fd, '-', pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// The guardian's life: waits for EOF on `fd`, then kills the process
/// groups still running (initdb spawns postgres processes of its own),
/// stops the server and removes `dir`.
[[noreturn]] void guard(int fd, const account& acc, const std::string& pg_ctl,
                        const std::string& dir) {
  std::set<pid_t> groups;
  std::string buf;
  char chunk[256];
  for (;;) {
    auto n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t pos;
    while ((pos = buf.find('\n')) != std::string::npos) {
      auto pgid = static_cast<pid_t>(std::atol(buf.c_str() + 1));
      if (buf[0] == '+')
        groups.insert(pgid);
      else
        groups.erase(pgid);
      buf.erase(0, pos + 1);
    }
  }
  for (auto pgid : groups)
    kill(-pgid, SIGKILL);
  run_as(acc, {pg_ctl, "stop", "-D", dir + "/data", "-m", "immediate", "-w"},
         "/dev/null");
  std::error_code ec;
  for (int i = 0; i < 5 && fs::exists(dir, ec); ++i)
    fs::remove_all(dir, ec);
  _exit(0);
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
    guard(fds[0], acc, pg_ctl, dir_);
  }
  close(fds[0]);
  guardian_pipe_ = fds[1];
  guardian_pid_ = pid;
  if (run_as(acc,
             {initdb, "-D", data, "--username=keepa", "--auth=trust",
              "--encoding=UTF8", "--no-sync", "--locale=C"},
             log, guardian_pipe_)
      != 0)
    throw std::runtime_error("initdb failed: " + read_file(log));
  auto opts = "-c listen_addresses=127.0.0.1 -c unix_socket_directories=" + dir_
    + " -p " + port + " -c fsync=off";
  if (run_as(acc,
             {pg_ctl, "start", "-D", data, "-w", "-t", "30", "-l", log, "-o",
              opts},
             dir_ + "/pg_ctl.log", guardian_pipe_)
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
