// Runs a program through the shell and collects what it printed (stdout and
// stderr together) and how it ended, for tests of the real binaries.

#pragma once

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include <sys/wait.h>

namespace keepa::test {

struct program_outcome {
  /// The exit code, 128 + N when signal N ended it, -1 otherwise.
  int exit_code = -1;
  std::string output;
};

/// Runs `cmd` with `sh -c` (append " 2>&1" is done here); callers bound its
/// time themselves (`timeout -s KILL N cmd`).
inline program_outcome run_program(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe{
    popen((cmd + " 2>&1").c_str(), "r"), nullptr};
  if (!pipe)
    throw std::runtime_error("popen failed: " + cmd);
  program_outcome result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe.get())) > 0)
    result.output.append(buf, n);
  auto status = pclose(pipe.release());
  if (WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.exit_code = 128 + WTERMSIG(status);
  return result;
}

} // namespace keepa::test
