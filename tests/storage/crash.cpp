// SIGKILL during heavy upsert load: a child (tools/storage-crash) stores
// batches through a detached STORAGE actor and is killed at 20 seeded random
// moments. After each kill the database must pass SQLite's integrity check,
// hold every acknowledged batch, and keep its watermark at or below the
// newest batch that was acknowledged or in flight, with every position at or
// below the watermark stored.

#include <algorithm>
#include <csignal>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/storage/fixtures.hpp"
#include "tools/storage-crash/workload.hpp"

using namespace keepa;

namespace {

struct child_run {
  std::vector<int32_t> sent;
  std::vector<int32_t> acked;
  /// The watermark each ack reported.
  std::vector<feed_position> ack_marks;
  std::string errors;
};

/// Starts the child, kills it after `acks` acknowledgements plus whatever
/// it does while we read, and collects everything it wrote.
child_run run_child(const std::string& file, int32_t minute, uint32_t seed,
                    int acks) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    auto m = std::to_string(minute), s = std::to_string(seed);
    execl(KEEPA_STORAGE_CRASH, KEEPA_STORAGE_CRASH, file.c_str(), m.c_str(),
          s.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  child_run result;
  std::string pending;
  bool killed = false;
  char buf[4096];
  ssize_t n;
  auto parse = [&](const std::string& line) {
    std::istringstream in{line};
    std::string word;
    in >> word;
    if (word == "sent") {
      int32_t m;
      in >> m;
      result.sent.push_back(m);
    } else if (word == "ack") {
      int32_t m, wm;
      std::string asin;
      in >> m >> wm >> asin;
      result.acked.push_back(m);
      result.ack_marks.push_back(feed_position{wm, asin == "-" ? "" : asin});
    } else {
      result.errors += line + "\n";
    }
  };
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) {
    pending.append(buf, static_cast<size_t>(n));
    size_t pos;
    while ((pos = pending.find('\n')) != std::string::npos) {
      parse(pending.substr(0, pos));
      pending.erase(0, pos + 1);
    }
    if (!killed && static_cast<int>(result.acked.size()) >= acks) {
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(result.errors == "");
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  return result;
}

} // namespace

TEST_CASE_METHOD(test::sqlite_fixture,
                 "SIGKILL under upsert load loses no acknowledged batch",
                 "[storage][sqlite][crash]") {
  std::mt19937 rng{20261122};
  std::set<int32_t> acked, sent;
  feed_position last_acked_mark;
  for (int round = 0; round < 20; ++round) {
    INFO("round " << round);
    auto first = 1000 + round * 10000;
    auto acks = 1 + static_cast<int>(rng() % 40);
    auto run = run_child(file, first, rng(), acks);
    REQUIRE(static_cast<int>(run.acked.size()) >= acks);
    acked.insert(run.acked.begin(), run.acked.end());
    sent.insert(run.sent.begin(), run.sent.end());
    if (!run.ack_marks.empty())
      last_acked_mark = std::max(last_acked_mark, run.ack_marks.back());
    // Reopen: the schema is there, the file is sound.
    auto db = open();
    std::string integrity;
    *raw() << "PRAGMA integrity_check", soci::into(integrity);
    REQUIRE(integrity == "ok");
    // Every acknowledged batch is stored completely.
    std::vector<std::string> asins;
    for (auto m : acked)
      for (auto& p : crash::positions_of(m))
        asins.push_back(p.asin);
    auto mem = db->known(asins);
    REQUIRE_OK(mem);
    CHECK(mem->size() == asins.size());
    for (auto& x : *mem) {
      auto i = std::stoi(x.asin.substr(1)) % crash::positions_per_batch;
      CHECK(x.stored == !crash::is_rejection(i));
      CHECK(x.rejected == crash::is_rejection(i));
    }
    // The watermark moved forward only, and not past the newest batch that
    // was acknowledged or in flight when the child died.
    auto wm = db->watermark();
    REQUIRE_OK(wm);
    CHECK(last_acked_mark <= *wm);
    REQUIRE(!sent.empty());
    auto newest_sent = crash::positions_of(*sent.rbegin()).back();
    CHECK(*wm <= newest_sent);
    // Nothing this child tracked at or below the watermark is missing:
    // every such position is stored (deal or rejection). Positions an
    // earlier child tracked but never finished are not checked: a new
    // process rescans from the watermark and tracks afresh.
    std::vector<std::string> below;
    for (int32_t m = first; m <= wm->last_update; ++m)
      for (auto& p : crash::positions_of(m))
        if (p <= *wm)
          below.push_back(p.asin);
    mem = db->known(below);
    REQUIRE_OK(mem);
    CHECK(mem->size() == below.size());
    // An unacknowledged batch is either absent or complete (atomicity).
    for (auto m : sent) {
      if (acked.count(m) != 0)
        continue;
      std::vector<std::string> xs;
      for (auto& p : crash::positions_of(m))
        xs.push_back(p.asin);
      auto found = db->known(xs);
      REQUIRE_OK(found);
      CHECK((found->empty() || found->size() == xs.size()));
    }
  }
  CHECK(acked.size() >= 20);
}
