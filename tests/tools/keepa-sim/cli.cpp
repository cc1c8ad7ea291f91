// keepa-sim's command line (CAF's config, group `sim`): --help, bad options
// and --dump-config end at once with the documented exit codes, and never
// print the key. Every wait is bounded by poll().

#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct outcome {
  /// The exit code; -1 when it did not exit in time (then killed).
  int code = -1;
  std::string out;
  std::string err;
};

/// Runs keepa-sim with `args`, for options that end it at once.
outcome run_sim(const std::vector<std::string>& args) {
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
    std::vector<char*> argv{const_cast<char*>(KEEPA_SIM_EXE)};
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(KEEPA_SIM_EXE, argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  outcome result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  pollfd fds[] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* texts[] = {&result.out, &result.err};
  for (int open = 2; open > 0;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
    if (left <= 0 || poll(fds, 2, static_cast<int>(left)) <= 0)
      break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0)
        continue;
      char buf[4096];
      auto n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        texts[i]->append(buf, static_cast<size_t>(n));
      } else {
        fds[i].fd = -1;
        --open;
      }
    }
  }
  close(out[0]);
  close(err[0]);
  // Its pipes closed; the exit follows, within the same deadline.
  int status = 0;
  pid_t done = 0;
  while ((done = waitpid(pid, &status, WNOHANG)) == 0
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  if (done != pid) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return result;
  }
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

size_t lines(const std::string& text) {
  size_t n = 0;
  for (auto c : text)
    n += c == '\n' ? 1 : 0;
  return n;
}

} // namespace

TEST_CASE("sim cli: --help lists every sim option and exits 0", "[sim]") {
  auto r = run_sim({"--help"});
  CHECK(r.code == 0);
  for (auto name : {"port",
                    "key",
                    "key-file",
                    "refill-rate",
                    "initial-tokens",
                    "flow-reduction",
                    "flow-schedule",
                    "lockout-floor",
                    "seed",
                    "products",
                    "peek-fraction",
                    "good-fraction",
                    "update-rate",
                    "latency-ms",
                    "rate-5xx",
                    "rate-timeout",
                    "rate-reset",
                    "rate-malformed",
                    "rate-truncated",
                    "rate-429-storm",
                    "storm-length",
                    "rate-offers-fail",
                    "timeout-hold-ms",
                    "threads",
                    "export-truth",
                    "strict"}) {
    INFO(name);
    auto option = std::string{"--sim."} + name;
    CHECK((r.out.find(option + " ") != std::string::npos
           || r.out.find(option + "=") != std::string::npos));
  }
  CHECK(r.out.find("listening") == std::string::npos);
}

TEST_CASE("sim cli: bad options exit 2 with one line naming the option, "
          "never its value",
          "[sim]") {
  struct bad_case {
    std::vector<std::string> args;
    const char* expected;
  };
  auto c = GENERATE(
    bad_case{{"--sim.prot=0"}, "--sim.prot"},
    // The old style is gone: a clear message, not a silent default.
    bad_case{{"--port", "0"}, "--port"},
    bad_case{{"--sim.port=70000"}, "sim.port"},
    bad_case{{"--sim.products=many"}, "--sim.products"},
    bad_case{{"--sim.threads=0"}, "sim.threads"},
    bad_case{{"--sim.refill-rate=-1"}, "sim.refill-rate"},
    // A flag takes no value in CAF 0.17.
    bad_case{{"--sim.strict=true"}, "--sim.strict"},
    bad_case{{"--sim.latency-ms=5.5"}, "--sim.latency-ms"},
    bad_case{{"--sim.flow-reduction=-2"}, "sim.flow-reduction"},
    bad_case{{"--sim.flow-schedule=5:3,2:1"}, "sim.flow-schedule"},
    bad_case{{"--sim.flow-schedule=5"}, "sim.flow-schedule"},
    bad_case{{"--sim.flow-schedule=5:x"}, "sim.flow-schedule"},
    bad_case{{"--sim.kye=s3cret-value"}, "--sim.kye"},
    bad_case{{"--sim.key", "s3cret-value"}, "--sim.key"},
    bad_case{{"--sim.key-file=/nonexistent/key"}, "/nonexistent/key"});
  auto r = run_sim(c.args);
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(lines(r.err) == 1);
  CHECK(r.err.rfind("keepa-sim: ", 0) == 0);
  CHECK(r.err.find(c.expected) != std::string::npos);
  CHECK(r.err.find("s3cret") == std::string::npos);
}

TEST_CASE("sim cli: --dump-config shows the options given, the key "
          "left out",
          "[sim]") {
  auto r = run_sim({"--dump-config", "--sim.key=s3cret-value",
                    "--sim.refill-rate=250", "--sim.strict"});
  CHECK(r.code == 0);
  INFO(r.out);
  CHECK(r.out.find("refill-rate = 250") != std::string::npos);
  CHECK(r.out.find("strict = true") != std::string::npos);
  CHECK(r.out.find("; key = (set, not shown") != std::string::npos);
  CHECK((r.out + r.err).find("s3cret") == std::string::npos);
}

TEST_CASE("sim cli: a key file with more than one word is refused", "[sim]") {
  const std::string path = "keepa_sim_cli_test.key";
  std::ofstream{path} << "s3cret value\n";
  auto r = run_sim({"--sim.key-file=" + path});
  std::remove(path.c_str());
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(r.err.find(path) != std::string::npos);
  CHECK(r.err.find("s3cret") == std::string::npos);
}
