#include "tools/keepa-pipeline/owner_files.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/error.hpp"

namespace keepa {

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

} // namespace

std::string owner_dir() {
  if (auto* x = std::getenv("XDG_RUNTIME_DIR"); x != nullptr && *x != 0)
    return std::string{x} + "/keepa-pipeline";
  if (auto* home = std::getenv("HOME"); home != nullptr && *home != 0)
    return std::string{home} + "/.keepa-pipeline";
  return ".keepa-pipeline";
}

caf::error private_directory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return caf::make_error(ec::invalid_config,
                           "cannot create " + dir + ": " + errno_text());
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0)
    return caf::make_error(ec::invalid_config,
                           "cannot inspect " + dir + ": " + errno_text());
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()
      || (st.st_mode & 077) != 0)
    return caf::make_error(ec::invalid_config,
                           dir
                             + " must be a directory of this user that "
                               "nobody else may access (mode 0700)");
  return caf::none;
}

caf::error write_private_file(const std::string& path,
                              const std::string& text) {
  int fd = ::open(path.c_str(),
                  O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return caf::make_error(ec::invalid_config,
                           "cannot write " + path + ": " + errno_text());
  struct stat st;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
    && st.st_uid == ::geteuid() && ::fchmod(fd, 0600) == 0
    && ::write(fd, text.data(), text.size())
      == static_cast<ssize_t>(text.size());
  auto why = errno_text();
  ::close(fd);
  if (!ok)
    return caf::make_error(ec::invalid_config,
                           "cannot write " + path
                             + " as a private file of this user: " + why);
  return caf::none;
}

} // namespace keepa
