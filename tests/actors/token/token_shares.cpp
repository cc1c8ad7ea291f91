// token_scheduler's fair shares between consumer processes (issue 22), as
// a plain class: simulated stages of several processes against the bucket
// model, on a simulated clock, without actors.

#include "actors/token/token_scheduler.hpp"

#include <map>
#include <string>
#include <vector>
#include <random>

#include <catch2/catch.hpp>

#include "actors/token/token.hpp"
#include "config/pipeline_config.hpp"
#include "config/profile.hpp"
#include "tests/support/bucket_model.hpp"

using namespace keepa;
using namespace std::chrono_literals;

namespace {

time_point t0() {
  return time_point{} + 24h;
}

/// One stage of one process: asks again at once after a grant, at its
/// retry time after a wait (or when earlier() names its ticket).
struct stage_sim {
  uint64_t process;
  stage what;
  int64_t cost;
  bool active = true;
  uint64_t ticket = 0;
  time_point next = t0();
  int64_t tokens = 0;
};

/// Runs `sim` (shares_sim or loop_sim) until `end`: the earliest of its
/// parts' next times, or of the scheduler's early wake (`sim.wake`), goes
/// next.
template<class Sim>
void run_events(Sim& sim, time_point end) {
  for (;;) {
    auto first = sim.first();
    auto at = first ? first->next : time_point::max();
    if (sim.wake < at) {
      if (sim.wake > end)
        break;
      sim.now = sim.wake;
      sim.wake = time_point::max();
      sim.wake_due(sim.s.earlier(sim.now));
      continue;
    }
    if (!first || at > end)
      break;
    sim.now = std::max(sim.now, at);
    sim.step(*first);
  }
  sim.now = end;
}

/// Stages of several processes against one scheduler and one bucket.
struct shares_sim {
  token_scheduler s;
  test::keepa_model keepa;
  std::map<uint64_t, int64_t> weights;
  std::vector<stage_sim> stages;
  std::mt19937_64 rng{42};
  time_point now = t0();
  time_point wake = time_point::max();

  explicit shares_sim(int64_t rate, int64_t initial = 0)
    : keepa(rate, initial, t0()) {
    s.settle(keepa.observe(now), now);
  }

  void add(uint64_t process, stage what, int64_t cost) {
    stages.push_back(stage_sim{process, what, cost});
  }

  void set_active(uint64_t process, bool on) {
    for (auto& x : stages)
      if (x.process == process) {
        x.active = on;
        x.ticket = 0;
        x.next = now;
      }
  }

  /// Tokens consumed by `process` so far.
  int64_t spent(uint64_t process) const {
    int64_t result = 0;
    for (auto& x : stages)
      if (x.process == process)
        result += x.tokens;
    return result;
  }

  void step(stage_sim& x) {
    token_request r{to_string(x.what), x.what, x.cost, x.ticket,
                    weights[x.process]};
    auto d = s.acquire(r, now, x.process);
    REQUIRE(d.error == ec::none);
    if (d.granted) {
      std::uniform_int_distribution<int64_t> dist{x.cost / 2, x.cost};
      auto actual = dist(rng);
      bool rejected = false;
      auto answer = keepa.request(d.grant.grant_id, actual, now, rejected);
      REQUIRE_FALSE(rejected);
      x.tokens += actual;
      s.settle(answer, now);
      x.ticket = 0;
      x.next = now;
    } else {
      x.ticket = d.wait.ticket;
      x.next = now + d.wait.retry_after;
    }
    auto e = s.earlier(now);
    wake_due(e);
    wake = e.next;
  }

  /// Wakes the stages whose tickets are due.
  void wake_due(const token_scheduler::early& e) {
    for (auto t : e.due)
      for (auto& y : stages)
        if (y.active && y.ticket == t)
          y.next = now;
  }

  stage_sim* first() {
    stage_sim* result = nullptr;
    for (auto& x : stages)
      if (x.active && (!result || x.next < result->next))
        result = &x;
    return result;
  }

  void run_until(time_point end) {
    run_events(*this, end);
  }
};

/// Per process: tokens consumed in [from, to) of a run.
std::map<uint64_t, int64_t> window(shares_sim& sim, time_point from,
                                   time_point to) {
  sim.run_until(from);
  std::map<uint64_t, int64_t> before;
  for (auto& [p, w] : sim.weights)
    before[p] = sim.spent(p);
  sim.run_until(to);
  std::map<uint64_t, int64_t> result;
  for (auto& [p, w] : sim.weights)
    result[p] = sim.spent(p) - before[p];
  return result;
}

double part(const std::map<uint64_t, int64_t>& xs, uint64_t p) {
  int64_t total = 0;
  for (auto& [k, v] : xs)
    total += v;
  return total > 0 ? double(xs.at(p)) / double(total) : 0.0;
}

/// Closed-loop processes as keepa-pipeline runs them behind a budget
/// server: one request at a time each, sent to Keepa at its grant and
/// answered `latency` later; the process asks again as soon as the answer
/// is in (or at its retry time after a wait). Nothing queues while the
/// balance is positive: whoever asks fastest would take each refill step.
struct loop_sim {
  struct proc {
    uint64_t id;
    int64_t weight;
    duration latency;
    bool active = true;
    time_point next = t0();
    uint64_t ticket = 0;
    bool in_flight = false;
    settlement answer = {};
    int64_t tokens = 0;
  };

  token_scheduler s;
  test::keepa_model keepa;
  std::vector<proc> procs;
  std::mt19937_64 rng{7};
  time_point now = t0();
  time_point wake = time_point::max();

  /// `observed`: TOKEN learns the balance at once (else see observe()).
  explicit loop_sim(int64_t rate, int64_t initial = 0, bool observed = true)
    : keepa(rate, initial, t0()) {
    if (observed)
      s.settle(keepa.observe(now), now);
  }
  /// TOKEN learns the balance at `at` (a restarted server's first answer).
  void observe(time_point at) {
    now = at;
    s.settle(keepa.observe(now), now);
    wake_due(s.earlier(now));
  }

  void wake_due(const token_scheduler::early& e) {
    for (auto t : e.due)
      for (auto& y : procs)
        if (y.active && !y.in_flight && y.ticket == t)
          y.next = now;
    wake = std::min(wake, e.next);
  }

  void step(proc& x) {
    if (x.in_flight) {
      x.in_flight = false;
      s.settle(x.answer, now);
    } else {
      token_request r{"commit", stage::commit,
                      std::uniform_int_distribution<int64_t>{50, 100}(rng),
                      x.ticket, x.weight};
      auto d = s.acquire(r, now, x.id);
      REQUIRE(d.error == ec::none);
      if (d.granted) {
        bool rejected = false;
        x.answer = keepa.request(d.grant.grant_id, r.cost, now, rejected);
        REQUIRE_FALSE(rejected);
        x.tokens += r.cost;
        x.in_flight = true;
        x.ticket = 0;
        x.next = now + x.latency;
      } else {
        x.ticket = d.wait.ticket;
        x.next = now + d.wait.retry_after;
      }
    }
    wake = time_point::max();
    wake_due(s.earlier(now));
  }

  proc* first() {
    proc* result = nullptr;
    for (auto& x : procs)
      if ((x.active || x.in_flight) && (!result || x.next < result->next))
        result = &x;
    return result;
  }

  void run_until(time_point end) {
    run_events(*this, end);
  }

  std::map<uint64_t, int64_t> window(time_point from, time_point to) {
    run_until(from);
    std::map<uint64_t, int64_t> before;
    for (auto& x : procs)
      before[x.id] = x.tokens;
    run_until(to);
    std::map<uint64_t, int64_t> result;
    for (auto& x : procs)
      result[x.id] = x.tokens - before[x.id];
    return result;
  }
};

/// Weights 1:2:3; the lightest process is the fastest asker.
void three_loops(loop_sim& sim) {
  sim.procs.push_back(loop_sim::proc{1, 1, 400ms});
  sim.procs.push_back(loop_sim::proc{2, 2, 700ms});
  sim.procs.push_back(loop_sim::proc{3, 3, 1000ms});
}

/// Three processes of weights 1, 2 and 3, each with a commit, a peek and a
/// scan stage that always want tokens.
void three_processes(shares_sim& sim) {
  sim.weights = {{1, 1}, {2, 2}, {3, 3}};
  for (uint64_t p = 1; p <= 3; ++p) {
    sim.add(p, stage::commit, 40);
    sim.add(p, stage::peek, 20);
    sim.add(p, stage::scan, 5);
  }
}

/// Two processes against R = 600, the first refill step at t0 + 17 s
/// (then each of two active processes holds 300 of credit).
struct two_processes {
  test::keepa_model keepa{600, 0, t0()};
  token_scheduler s;

  two_processes() {
    s.settle(keepa.observe(t0()), t0());
  }

  token_scheduler::decision ask(uint64_t process, stage what, int64_t cost,
                                time_point now, uint64_t ticket = 0) {
    return s.acquire(token_request{to_string(what), what, cost, ticket, 1}, now,
                     process);
  }
};

} // namespace

TEST_CASE("weights 1:2:3, all busy: shares of 1/6, 2/6 and 3/6",
          "[token_scheduler][shares]") {
  shares_sim sim{100};
  three_processes(sim);
  auto got = window(sim, t0() + 1h, t0() + 13h);
  INFO("tokens " << got[1] << " " << got[2] << " " << got[3]);
  for (uint64_t p = 1; p <= 3; ++p)
    CHECK(part(got, p) == Approx(double(p) / 6).epsilon(0.03));
  CHECK(sim.keepa.min_balance() >= sim.s.policy().floor);
  CHECK(sim.keepa.rejections() == 0);
  // The snapshot shows the same shares, weights and a share of the weights.
  auto st = sim.s.status(sim.now);
  REQUIRE(st.consumers.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    auto& c = st.consumers[i];
    CHECK(c.weight == int64_t(i + 1));
    CHECK(c.weight_share == Approx(double(i + 1) / 6));
    CHECK(c.consumed == sim.spent(i + 1));
    CHECK(c.granted >= c.consumed);
    CHECK(c.share == Approx(double(i + 1) / 6).epsilon(0.05));
  }
}

TEST_CASE("an idle process's share goes to the others",
          "[token_scheduler][shares]") {
  shares_sim sim{100};
  three_processes(sim);
  sim.set_active(3, false);
  auto start_generated = sim.keepa.generated();
  auto got = window(sim, t0(), t0() + 12h);
  INFO("tokens " << got[1] << " " << got[2] << " " << got[3]);
  CHECK(got[3] == 0);
  CHECK(part(got, 1) == Approx(1.0 / 3).epsilon(0.03));
  CHECK(part(got, 2) == Approx(2.0 / 3).epsilon(0.03));
  // Work-conserving: the two take what the bucket generates.
  auto generated = sim.keepa.generated() - start_generated;
  CHECK(double(sim.keepa.spent()) >= 0.99 * double(generated));
  CHECK(sim.keepa.min_balance() >= sim.s.policy().floor);
}

TEST_CASE("a process that was idle builds no debt and no credit",
          "[token_scheduler][shares]") {
  shares_sim sim{100};
  three_processes(sim);
  sim.run_until(t0() + 2h);
  sim.set_active(3, false);
  sim.run_until(t0() + 10h);
  sim.set_active(3, true);
  // At once after its return, and later: weighted shares, no catch-up for
  // the 8 hours it was away and no penalty for the others.
  auto first = window(sim, t0() + 10h, t0() + 11h);
  INFO("first hour " << first[1] << " " << first[2] << " " << first[3]);
  for (uint64_t p = 1; p <= 3; ++p)
    CHECK(part(first, p) == Approx(double(p) / 6).epsilon(0.05));
  auto later = window(sim, t0() + 11h, t0() + 17h);
  for (uint64_t p = 1; p <= 3; ++p)
    CHECK(part(later, p) == Approx(double(p) / 6).epsilon(0.03));
  CHECK(sim.keepa.min_balance() >= sim.s.policy().floor);
}

TEST_CASE("weights 1:2:3 hold without a queue: closed loops, refill steps "
          "of a minute",
          "[token_scheduler][shares]") {
  // Each process always wants more than the whole refill; nobody waits
  // while the balance is positive, so only admission can keep the weights.
  loop_sim sim{6000};
  three_loops(sim);
  auto got = sim.window(t0() + 1h, t0() + 7h);
  INFO("tokens " << got[1] << " " << got[2] << " " << got[3] << " shares "
                 << part(got, 1) << " " << part(got, 2) << " " << part(got, 3));
  for (uint64_t p = 1; p <= 3; ++p)
    CHECK(part(got, p) == Approx(double(p) / 6).epsilon(0.05));
  CHECK(sim.keepa.min_balance() >= sim.s.policy().floor);
  CHECK(sim.keepa.rejections() == 0);
}

TEST_CASE("tokens no refill step brought are shared by weight too: the "
          "balance a restarted server finds",
          "[token_scheduler][shares]") {
  // keepa-token just restarted: the three reconnected processes ask
  // before it knows the balance, so they wait; then an answer tells it
  // the balance, 1 800, with the first refill step 17 s away. The three
  // closed loops could spend it twice over before then.
  loop_sim sim{6000, 1800, false};
  three_loops(sim);
  for (auto& x : sim.procs) {
    sim.step(x);
    REQUIRE(x.ticket != 0);
  }
  sim.observe(t0() + 100ms);
  auto got = sim.window(t0() + 100ms, t0() + 16s);
  INFO("tokens " << got[1] << " " << got[2] << " " << got[3] << " shares "
                 << part(got, 1) << " " << part(got, 2) << " " << part(got, 3));
  // What is left is less than a request in each process's credit.
  CHECK(got[1] + got[2] + got[3] >= 1500);
  for (uint64_t p = 1; p <= 3; ++p)
    CHECK(part(got, p) == Approx(double(p) / 6).margin(0.05));
  CHECK(sim.keepa.rejections() == 0);
}

TEST_CASE("a process that asked alone first is charged for it when the "
          "others join within the refill step",
          "[token_scheduler][shares]") {
  // A balance of 1 800 and the first refill step 17 s away, as above, but
  // the processes of weights 2 and 3 start asking only after a second in
  // which the lightest one spent alone (credits do not apply to a single
  // process).
  loop_sim sim{6000, 1800};
  three_loops(sim);
  sim.procs[1].next = t0() + 1s;
  sim.procs[2].next = t0() + 1s;
  auto got = sim.window(t0(), t0() + 16s);
  INFO("tokens " << got[1] << " " << got[2] << " " << got[3] << " shares "
                 << part(got, 1) << " " << part(got, 2) << " " << part(got, 3));
  CHECK(got[1] > 0);
  CHECK(got[1] + got[2] + got[3] >= 1500);
  for (uint64_t p = 1; p <= 3; ++p)
    CHECK(part(got, p) == Approx(double(p) / 6).margin(0.05));
  CHECK(sim.keepa.rejections() == 0);
}

TEST_CASE("closed loops: an idle process's share goes to the others",
          "[token_scheduler][shares]") {
  loop_sim sim{6000};
  three_loops(sim);
  sim.procs[2].active = false;
  auto from = sim.keepa.generated();
  sim.run_until(t0() + 1h);
  auto mid = sim.keepa.generated();
  auto spent = sim.keepa.spent();
  auto got = sim.window(t0() + 1h, t0() + 7h);
  INFO("tokens " << got[1] << " " << got[2] << " shares " << part(got, 1) << " "
                 << part(got, 2));
  CHECK(got[3] == 0);
  CHECK(part(got, 1) == Approx(1.0 / 3).epsilon(0.05));
  CHECK(part(got, 2) == Approx(2.0 / 3).epsilon(0.05));
  // Work-conserving: the two take what the bucket generates.
  auto generated = sim.keepa.generated() - mid;
  CHECK(double(sim.keepa.spent() - spent) >= 0.99 * double(generated));
  CHECK(from == 0);
  CHECK(sim.keepa.min_balance() >= sim.s.policy().floor);
  CHECK(sim.keepa.rejections() == 0);
}

TEST_CASE("a request waiting for credit is woken when another process "
          "goes inactive",
          "[token_scheduler][shares]") {
  // Each refill step gives both active processes 300 of credit.
  two_processes x;
  auto& keepa = x.keepa;
  auto& s = x.s;
  auto ask = [&](uint64_t process, int64_t cost, time_point now,
                 uint64_t ticket = 0) {
    auto d = x.ask(process, stage::commit, cost, now, ticket);
    if (d.granted) {
      bool rejected = false;
      s.settle(keepa.request(d.grant.grant_id, cost, now, rejected), now);
      REQUIRE_FALSE(rejected);
    }
    return d;
  };
  // Both wait for the first step (t0 + 17 s), then spend from credit.
  auto a = ask(1, 300, t0());
  auto b = ask(2, 100, t0());
  REQUIRE_FALSE(a.granted);
  REQUIRE_FALSE(b.granted);
  CHECK(ask(1, 300, t0() + 17s, a.wait.ticket).granted);
  CHECK(ask(2, 100, t0() + 17s, b.wait.ticket).granted);
  // Process 2's last request: it keeps 199 + 300 of credit from the next
  // step, and the balance (499 after process 1's next 300) is all owed.
  CHECK(ask(2, 1, t0() + 60s).granted);
  CHECK(ask(1, 300, t0() + 78s).granted);
  auto c = ask(1, 100, t0() + 78s);
  REQUIRE_FALSE(c.granted);
  CHECK(c.wait.retry_after == 59s);
  // Process 2 is inactive one refill period after its last request: its
  // credit is dropped, and process 1's request is grantable then.
  auto e = s.earlier(t0() + 78s);
  CHECK(e.due.empty());
  auto gone = t0() + 120s + std::chrono::milliseconds(1);
  CHECK(e.next == gone);
  e = s.earlier(gone);
  REQUIRE(e.due.size() == 1);
  CHECK(e.due[0] == c.wait.ticket);
  CHECK(ask(1, 100, gone, c.wait.ticket).granted);
  CHECK(keepa.rejections() == 0);
}

TEST_CASE("a stage waiting for its process's credit is not passed by a "
          "lower stage of the same process",
          "[token_scheduler][shares]") {
  // At the first step both processes hold 300 of credit, and process 1's
  // commit of 500 waits for more (the balance is there, but less the
  // other's credit it is below the 320 the commit needs above the floor
  // of -180).
  two_processes x;
  auto commit = x.ask(1, stage::commit, 500, t0());
  auto other = x.ask(2, stage::commit, 5, t0());
  REQUIRE_FALSE(commit.granted);
  REQUIRE_FALSE(other.granted);
  auto at = t0() + 17s;
  commit = x.ask(1, stage::commit, 500, at, commit.wait.ticket);
  REQUIRE_FALSE(commit.granted);
  REQUIRE(x.ask(2, stage::commit, 5, at, other.wait.ticket).granted);
  // Its scan fits in the 60 but waits behind the commit; another
  // process's request does not.
  auto scan = x.ask(1, stage::scan, 5, at);
  CHECK_FALSE(scan.granted);
  CHECK(scan.wait.retry_after >= commit.wait.retry_after);
  CHECK(x.ask(2, stage::scan, 5, at).granted);
}

TEST_CASE("what Keepa charged beyond a grant's cost comes off its "
          "process's credit",
          "[token_scheduler][shares]") {
  // At the first step both processes hold 300 of credit.
  two_processes x;
  auto& s = x.s;
  auto ask = [&](uint64_t process, int64_t cost, time_point now,
                 uint64_t ticket = 0) {
    return x.ask(process, stage::commit, cost, now, ticket);
  };
  auto credit_of = [&](uint64_t process, time_point now) {
    for (auto& c : s.status(now).consumers)
      if (c.consumer == std::to_string(process))
        return c.credit;
    FAIL("no consumer " << process);
    return 0.0;
  };
  auto a = ask(1, 10, t0());
  auto b = ask(2, 10, t0());
  REQUIRE_FALSE(a.granted);
  REQUIRE_FALSE(b.granted);
  auto at = t0() + 17s;
  a = ask(1, 10, at, a.wait.ticket);
  b = ask(2, 10, at, b.wait.ticket);
  REQUIRE(a.granted);
  REQUIRE(b.granted);
  CHECK(credit_of(1, at) == Approx(290));
  // Its request was estimated at 10 and cost 100 (as an offers page may).
  bool rejected = false;
  s.settle(x.keepa.request(a.grant.grant_id, 100, at, rejected), at);
  REQUIRE_FALSE(rejected);
  s.settle(x.keepa.request(b.grant.grant_id, 10, at, rejected), at);
  CHECK(credit_of(1, at) == Approx(200));
  CHECK(credit_of(2, at) == Approx(290));
}

TEST_CASE("inside a process the stage ranks and the updater share hold",
          "[token_scheduler][shares]") {
  shares_sim sim{100};
  sim.weights = {{1, 1}, {2, 1}};
  for (uint64_t p = 1; p <= 2; ++p) {
    sim.add(p, stage::commit, 40);
    sim.add(p, stage::scan, 5);
  }
  // Only process 2 updates.
  sim.add(2, stage::update, 30);
  sim.run_until(t0() + 12h);
  auto by = [&](uint64_t p, stage what) {
    for (auto& x : sim.stages)
      if (x.process == p && x.what == what)
        return x.tokens;
    return int64_t{0};
  };
  auto p1 = double(sim.spent(1));
  auto p2 = double(sim.spent(2));
  INFO("process 1: " << p1 << ", process 2: " << p2 << " (update "
                     << by(2, stage::update) << ")");
  CHECK(p1 / (p1 + p2) == Approx(0.5).epsilon(0.03));
  // The always hungry commit stage is served before the scan stage.
  CHECK(by(1, stage::commit) >= 0.99 * p1);
  CHECK(by(2, stage::scan) <= 0.01 * p2);
  // Process 2's updater gets its 20 % of process 2's tokens, not of all.
  CHECK(by(2, stage::update) / p2 == Approx(0.2).margin(0.03));
  CHECK(sim.keepa.min_balance() >= sim.s.policy().floor);
}

TEST_CASE("a forgotten process's tickets no longer hold the queue",
          "[token_scheduler][shares]") {
  token_scheduler s;
  s.settle(test::keepa_model{5, 0, t0()}.observe(t0()), t0());
  // Process 2 waits first (150 tokens), process 1 behind it.
  auto a = s.acquire(token_request{"commit", stage::commit, 150, 0, 1}, t0(),
                     2);
  REQUIRE_FALSE(a.granted);
  auto b = s.acquire(token_request{"scan", stage::scan, 5, 0, 1}, t0(), 1);
  REQUIRE_FALSE(b.granted);
  CHECK(s.status(t0()).consumers.size() == 2);
  // Process 2's ticket is not process 1's to present: a new request.
  auto c = s.acquire(
    token_request{"commit", stage::commit, 150, a.wait.ticket, 1}, t0(), 1);
  REQUIRE_FALSE(c.granted);
  CHECK(c.wait.ticket != a.wait.ticket);
  CHECK(s.waiting() == 3);
  CHECK(s.forget(2, t0()) == 1);
  CHECK(s.waiting() == 2);
  CHECK_FALSE(s.queued(a.wait.ticket));
  REQUIRE(s.status(t0()).consumers.size() == 1);
  CHECK(s.status(t0()).consumers[0].consumer == "1");
}

TEST_CASE("a single process's order is the one without processes",
          "[token_scheduler][shares]") {
  // The same requests as TOKEN's own stages (process 0) and as one relayed
  // process with a weight: the same decisions at the same times.
  auto run = [](uint64_t process, int64_t weight) {
    shares_sim sim{5, 300};
    sim.weights = {{process, weight}};
    sim.add(process, stage::commit, 120);
    sim.add(process, stage::peek, 20);
    sim.add(process, stage::scan, 5);
    sim.add(process, stage::update, 50);
    sim.run_until(t0() + 24h);
    std::vector<int64_t> result;
    for (auto& x : sim.stages)
      result.push_back(x.tokens);
    return result;
  };
  CHECK(run(0, 0) == run(7, 3));
}

TEST_CASE("the option keepa.token.weight takes a positive whole number",
          "[token][shares][config]") {
  auto weight = [](std::string arg) -> caf::expected<int64_t> {
    pipeline_config cfg;
    std::vector<std::string> args{"test"};
    if (!arg.empty())
      args.push_back("--keepa.token.weight=" + arg);
    std::vector<char*> argv;
    for (auto& x : args)
      argv.push_back(x.data());
    if (auto err = cfg.load(static_cast<int>(argv.size()), argv.data()))
      return err;
    auto tcfg = token_config_from(cfg);
    auto profiles = load_profiles(default_profiles_dir());
    REQUIRE(profiles);
    tcfg.profiles = std::move(*profiles);
    if (auto err = validate(tcfg))
      return err;
    return tcfg.weight;
  };
  CHECK(weight("") == int64_t{1});
  CHECK(weight("3") == int64_t{3});
  for (auto bad : {"0", "-2", "1000001"}) {
    auto x = weight(bad);
    REQUIRE_FALSE(x);
    CHECK(caf::to_string(x.error()).find(
            "keepa.token.weight: expected a whole number from 1 to "
            "1000000, got "
            + std::string{bad})
          != std::string::npos);
  }
  CHECK_FALSE(weight("1.5"));
}

// Issue 18, found by the cluster test: three pipelines were granted 1 000
// tokens within 200 ms at a projected balance of 883, the last grant taking
// it to -5. Their requests reached keepa-sim in another order, and one
// granted earlier met a balance of 0 or below: HTTP 429.
TEST_CASE("while several processes are active and a grant is in flight, "
          "another must leave a token; alone it may use the overdraft",
          "[token_scheduler][shares]") {
  test::keepa_model keepa{5, 100, t0()};
  token_scheduler s; // floor -180
  s.settle(keepa.observe(t0()), t0());
  auto ask = [&](uint64_t process, stage what, int64_t cost, time_point now,
                 uint64_t ticket = 0) {
    return s.acquire(token_request{to_string(what), what, cost, ticket, 1}, now,
                     process);
  };
  auto answer = [&](const token_grant& g, int64_t cost, time_point now) {
    bool rejected = false;
    s.settle(keepa.request(g.grant_id, cost, now, rejected), now);
    CHECK_FALSE(rejected);
  };
  // 100 tokens: process 1's commit leaves 20, process 2's peek of 30
  // would leave -10.
  auto commit = ask(1, stage::commit, 80, t0());
  REQUIRE(commit.granted);
  auto peek = ask(2, stage::peek, 30, t0());
  CHECK_FALSE(peek.granted);
  // The commit's answer: nothing is in flight, the peek is due and may
  // take the balance to -10.
  auto t1 = t0() + 1s;
  answer(commit.grant, 80, t1);
  CHECK(s.earlier(t1).due == std::vector<uint64_t>{peek.wait.ticket});
  auto again = ask(2, stage::peek, 30, t1, peek.wait.ticket);
  REQUIRE(again.granted);
  CHECK(again.grant.projected_after == -10);
  // Once it is answered, the other process may not ask before a refill.
  answer(again.grant, 30, t1);
  CHECK_FALSE(ask(1, stage::scan, 5, t1).granted);
}
