// Bad and hostile input: malformed or unreachable URLs, files that are not
// databases, read-only files, a full disk. Each is a clear keepa error and
// leaves what is stored intact.

#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>

#include <fcntl.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "messages/error.hpp"
#include "tests/storage/fixtures.hpp"
#include "tests/support/pg_server.hpp"

using namespace keepa;
using keepa::test::make_deal;

namespace {

caf::error open_error(const std::string& url) {
  db::open_options opts;
  opts.url = url;
  auto res = db::soci_backend::open(opts);
  REQUIRE(!res);
  return res.error();
}

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// Runs `f` in a forked child and returns what it returned.
std::string in_child(std::function<std::string()> f) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    auto out = f();
    auto n = write(fds[1], out.data(), out.size());
    _exit(n == static_cast<ssize_t>(out.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::string result;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0)
    result.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  return result;
}

/// Fills the fixture's database with 10 deals and a watermark.
void seed(const test::sqlite_fixture& fix) {
  auto db = fix.open();
  upsert_batch batch;
  for (int i = 0; i < 10; ++i)
    batch.deals.push_back(make_deal("B00000000" + std::to_string(i), i));
  REQUIRE_OK(db->commit(batch, feed_position{500, "B000000009"}));
  REQUIRE_OK(db->flush());
}

/// The database still holds exactly what seed() wrote and passes
/// SQLite's integrity check.
void check_intact(const test::sqlite_fixture& fix) {
  auto db = fix.open();
  auto c = db->counts();
  REQUIRE_OK(c);
  CHECK(c->deals == 10);
  CHECK(c->watermark == feed_position{500, "B000000009"});
  std::string integrity;
  *fix.raw() << "PRAGMA integrity_check", soci::into(integrity);
  CHECK(integrity == "ok");
}

} // namespace

TEST_CASE("malformed storage URLs are invalid_config", "[storage][bad_input]") {
  for (auto url : {"", "sqlite:", "sqlite://", "mysql://localhost/keepa",
                   "postgresql:nonsense", "sqlite:/tmp/a=b.db"}) {
    INFO(url);
    auto err = open_error(url);
    CHECK(err == ec::invalid_config);
    CHECK_THAT(render(err), Catch::Contains("keepa.storage.url"));
  }
  CHECK(db::parse_location("keepa.db")->kind == db::backend_kind::sqlite);
  CHECK(db::parse_location("sqlite:///var/k.db")->target == "/var/k.db");
  CHECK(db::parse_location("postgres://h/db")->kind
        == db::backend_kind::postgresql);
  CHECK(db::parse_location("postgresql:dbname=k host=h")->target
        == "dbname=k host=h");
}

TEST_CASE("an unreachable or malformed PostgreSQL URL is storage_error",
          "[storage][bad_input]") {
  // Port 1 on loopback refuses at once; no other host is ever contacted.
  auto err = open_error("postgresql://keepa:s3cret@127.0.0.1:1/keepa");
  CHECK(err == ec::storage_error);
  auto text = render(err);
  CHECK_THAT(text, Catch::Contains("127.0.0.1:1"));
  CHECK_THAT(text, !Catch::Contains("s3cret"));
  err = open_error("postgresql://127.0.0.1:notaport/keepa");
  CHECK(err == ec::storage_error);
  err = open_error("postgresql:host=127.0.0.1 port=1 password=s3cret");
  CHECK(err == ec::storage_error);
  CHECK_THAT(render(err), !Catch::Contains("s3cret"));
}

TEST_CASE("the documented postgresql://user@host:port/db URL opens",
          "[storage][bad_input]") {
  // Issue 16: SOCI took the URI for keywords and asked for a database
  // named "deals=" (here "postgres="); libpq's own parser reads it now.
  auto& pg = test::pg_server::instance();
  std::smatch port;
  REQUIRE(std::regex_search(pg.conninfo(), port, std::regex{R"(port=(\d+))"}));
  for (auto scheme : {"postgresql://", "postgres://"}) {
    auto url = std::string{scheme} + "keepa@127.0.0.1:" + port[1].str()
      + "/postgres";
    INFO(url);
    db::open_options opts;
    opts.url = url;
    auto res = db::soci_backend::open(opts);
    if (!res)
      FAIL(render(res.error()));
    CHECK((*res)->schema_version() >= 1);
  }
  CHECK(db::parse_location("postgresql://u:pw@h:5433/deals")->target
        == "dbname='deals' host='h' password='pw' port='5433' user='u'");
}

TEST_CASE_METHOD(test::sqlite_fixture,
                 "a file that is not a database is refused untouched",
                 "[storage][bad_input]") {
  {
    std::ofstream out{file, std::ios::binary};
    for (int i = 0; i < 512; ++i)
      out << "not a database, line " << i << '\n';
  }
  auto before = slurp(file);
  auto err = open_error(url());
  CHECK(err == ec::storage_error);
  CHECK_THAT(render(err), Catch::Contains("not a database"));
  CHECK(slurp(file) == before);
}

TEST_CASE_METHOD(test::sqlite_fixture, "a missing directory is storage_error",
                 "[storage][bad_input]") {
  auto err = open_error("sqlite:" + dir.path + "/missing/keepa.db");
  CHECK(err == ec::storage_error);
  CHECK_THAT(render(err), Catch::Contains("unable to open"));
}

TEST_CASE_METHOD(test::sqlite_fixture,
                 "a read-only database is storage_error and stays intact",
                 "[storage][bad_input]") {
  seed(*this);
  // Root ignores file modes, so the child drops to an unprivileged user.
  auto pw = getpwnam("nobody");
  REQUIRE(pw != nullptr);
  REQUIRE(chmod(file.c_str(), 0444) == 0);
  REQUIRE(chmod(dir.path.c_str(), 0555) == 0);
  auto out = in_child([&]() -> std::string {
    if (getuid() == 0 && (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0))
      return "cannot drop privileges";
    auto res = db::soci_backend::open(options());
    if (res)
      return "opened read-write";
    return render(res.error());
  });
  chmod(dir.path.c_str(), 0755);
  chmod(file.c_str(), 0644);
  CHECK_THAT(out, Catch::StartsWith("storage_error"));
  CHECK_THAT(out, Catch::Contains("cannot open"));
  check_intact(*this);
}

TEST_CASE_METHOD(test::sqlite_fixture,
                 "a full disk fails the batch and keeps the watermark",
                 "[storage][bad_input]") {
  seed(*this);
  auto out = in_child([&]() -> std::string {
    auto db = db::soci_backend::open(options());
    if (!db)
      return "open: " + render(db.error());
    // The file size limit makes every write past 256 KiB fail with EFBIG,
    // as a full file system would.
    signal(SIGXFSZ, SIG_IGN);
    rlimit lim{256 * 1024, RLIM_INFINITY};
    getrlimit(RLIMIT_FSIZE, &lim);
    lim.rlim_cur = 256 * 1024;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
      return "setrlimit failed";
    upsert_batch big;
    for (int i = 0; i < 4000; ++i) {
      big.deals.push_back(make_deal("B1" + std::to_string(10000000 + i), 1));
      big.deals.back().title = std::string(1000, 'x');
    }
    auto res = (*db)->commit(big, feed_position{900, "B110003999"});
    if (res)
      return "committed";
    return render(res.error());
  });
  CHECK_THAT(out, Catch::StartsWith("storage_error"));
  CHECK_THAT(out, Catch::Contains("upsert"));
  check_intact(*this);
}

TEST_CASE_METHOD(test::sqlite_fixture,
                 "opening a database locked by another writer is storage_busy",
                 "[storage][bad_input]") {
  seed(*this);
  auto other = raw();
  lock_all(*other);
  auto res = db::soci_backend::open(options());
  REQUIRE(!res);
  CHECK(res.error() == ec::storage_busy);
  CHECK_THAT(render(res.error()), Catch::Contains("cannot open"));
  CHECK_THAT(render(res.error()), Catch::Contains("after 3 tries"));
  *other << "ROLLBACK";
  check_intact(*this);
}
