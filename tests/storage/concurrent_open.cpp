// Several keepa-pipeline processes sharing one database (issue 22) start at
// the same time: each opens the database and migrates it in its own
// transaction. All of them must open it; only one migrates.

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/storage/fixtures.hpp"

using namespace keepa;

namespace {

/// `rounds` rounds of four openers let go at once on an empty database
/// (`empty` makes it so before each round after the first); CHECKs that
/// every one of them opened it.
void open_at_once(int rounds, const std::string& url,
                  const std::function<void()>& empty) {
  constexpr int openers = 4;
  for (int round = 0; round < rounds; ++round) {
    INFO("round " << round);
    if (round > 0)
      empty();
    std::atomic<int> ready{0};
    std::vector<std::string> errors(openers);
    std::vector<std::thread> threads;
    for (int i = 0; i < openers; ++i)
      threads.emplace_back([&, i] {
        db::open_options opts;
        opts.url = url;
        ++ready;
        while (ready < openers)
          std::this_thread::yield();
        auto db = db::soci_backend::open(opts);
        if (!db)
          errors[static_cast<size_t>(i)] = render(db.error());
      });
    for (auto& t : threads)
      t.join();
    for (auto& e : errors)
      CHECK(e == "");
  }
}

} // namespace

TEST_CASE_METHOD(keepa::test::postgresql_fixture,
                 "pipelines opening one empty PostgreSQL database at once "
                 "all open it",
                 "[storage][postgresql]") {
  open_at_once(5, url(), [&] {
    *raw() << "DROP TABLE IF EXISTS deals, rejections, system_state,"
              " pending, schema_version CASCADE";
  });
}

TEST_CASE_METHOD(keepa::test::sqlite_fixture,
                 "pipelines opening one new SQLite file at once all open it",
                 "[storage][sqlite]") {
  // (SQLite's race is narrower: more rounds.)
  open_at_once(30, url(), [&] {
    for (auto suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(file + suffix);
  });
}
