// Several keepa-pipeline processes sharing one PostgreSQL database (issue
// 22) start at the same time: each opens the database and migrates it in
// its own transaction. All of them must open it; only one migrates.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/storage/fixtures.hpp"

using namespace keepa;

TEST_CASE_METHOD(keepa::test::postgresql_fixture,
                 "pipelines opening one empty PostgreSQL database at once "
                 "all open it",
                 "[storage][postgresql]") {
  constexpr int openers = 4;
  // Each round starts from an empty database (the fixture's drop) and lets
  // the openers go at once.
  for (int round = 0; round < 5; ++round) {
    INFO("round " << round);
    if (round > 0)
      *raw() << "DROP TABLE IF EXISTS deals, rejections, system_state,"
                " pending, schema_version CASCADE";
    std::atomic<int> ready{0};
    std::vector<std::string> errors(openers);
    std::vector<std::thread> threads;
    for (int i = 0; i < openers; ++i)
      threads.emplace_back([&, i] {
        db::open_options opts;
        opts.url = url();
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
