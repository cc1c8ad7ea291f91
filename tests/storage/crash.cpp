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

#include <sys/stat.h>
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

/// The modification time of `path` in ns, 0 if it does not exist.
int64_t mtime_ns(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return 0;
  return st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
}

/// Picks the moment of the kill once the child has announced `lines` lines
/// of kind `trigger`. After an "ack" it kills at once (between batches).
/// After a "sent" it watches the WAL file until SQLite writes to it for
/// that batch, then `extra` more looks at it, so the kill lands inside the
/// transaction, during its commit, or just after it.
void kill_at(pid_t pid, const std::string& file, const std::string& trigger,
             uint32_t extra) {
  if (trigger == "sent") {
    auto wal = file + "-wal";
    auto before = mtime_ns(wal);
    for (int i = 0; i < 1'000'000 && mtime_ns(wal) == before; ++i)
      ; // The WAL has not changed yet.
    for (uint32_t i = 0; i < extra; ++i)
      mtime_ns(wal);
  }
  kill(pid, SIGKILL);
}

/// Starts the child, kills it (see kill_at) and collects everything it
/// wrote before it died.
child_run run_child(const std::string& file, int32_t minute, uint32_t seed,
                    const std::string& trigger, size_t lines, uint32_t extra) {
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
    auto& seen = trigger == "sent" ? result.sent : result.acked;
    if (!killed && seen.size() >= lines) {
      kill_at(pid, file, trigger, extra);
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
  INFO("child: " KEEPA_STORAGE_CRASH " (tools/storage-crash, listed in"
       " tools/CMakeLists.txt?)");
  REQUIRE(access(KEEPA_STORAGE_CRASH, X_OK) == 0);
  std::mt19937 rng{20261122};
  std::set<int32_t> acked, sent;
  // Kills that hit a batch after its commit but before its ack.
  int in_flight_stored = 0;
  feed_position last_acked_mark;
  for (int round = 0; round < 20; ++round) {
    INFO("round " << round);
    auto first = 1000 + round * 10000;
    auto trigger = rng() % 2 == 0 ? "sent" : "ack";
    auto lines = 2 + rng() % 30;
    auto extra = rng() % 4000;
    auto run = run_child(file, first, rng(), trigger, lines, extra);
    REQUIRE(run.sent.size() >= lines - 1);
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
    auto wrong_kind = std::count_if(mem->begin(), mem->end(), [](auto& x) {
      auto i = std::stoi(x.asin.substr(1)) % crash::positions_per_batch;
      return x.stored == crash::is_rejection(i)
        || x.rejected != crash::is_rejection(i);
    });
    CHECK(wrong_kind == 0);
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
      if (!found->empty() && m >= first)
        ++in_flight_stored;
    }
  }
  CHECK(acked.size() >= 20);
  WARN(in_flight_stored << " kills hit a batch after its commit, before its"
                           " ack");
}
