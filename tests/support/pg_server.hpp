// A throwaway PostgreSQL server for the storage tests: initdb + pg_ctl from
// Debian's packages in a temporary directory, listening on 127.0.0.1 only,
// run as an unprivileged user. A guardian process stops it and removes the
// directory when the test process ends, however it ends.

#pragma once

#include <string>

namespace keepa::test {

class pg_server {
public:
  /// The server of this process, started on first use. Fails the current
  /// test (REQUIRE) if PostgreSQL is not installed or does not start.
  static pg_server& instance();

  /// A libpq keyword connection string for database `postgres`.
  const std::string& conninfo() const {
    return conninfo_;
  }

  /// `postgresql:<conninfo>`, the storage URL form.
  std::string url() const {
    return "postgresql:" + conninfo_;
  }

  ~pg_server();

private:
  pg_server() = default;

  void start();

  std::string dir_;
  std::string conninfo_;
  int guardian_pipe_ = -1;
  int guardian_pid_ = -1;
};

} // namespace keepa::test
