// The TOKEN actor tests' fixture: the deterministic actor system with the
// default profiles and helpers that ask TOKEN and wait on virtual time.

#pragma once

#include <catch2/catch.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/token/token.hpp"
#include "config/pipeline_config.hpp"
#include "config/profile.hpp"
#include "messages/token.hpp"
#include "tests/support/fixture.hpp"

namespace keepa::test {

struct token_fixture : test::deterministic_fixture {
  token_config make_config() {
    token_config result;
    auto xs = load_profiles(default_profiles_dir());
    REQUIRE(xs);
    result.profiles = std::move(*xs);
    return result;
  }

  /// Asks `tok` for `cost` commit tokens (presenting `ticket`).
  token_reply acquire(const token_actor& tok, int64_t cost,
                      uint64_t ticket = 0) {
    token_reply result;
    caf::scoped_actor self{sys};
    auto rh = self->request(tok, caf::infinite, atom::acquire_v,
                            token_request{"test", stage::commit, cost, ticket});
    sched.run();
    rh.receive([&](token_reply& r) { result = std::move(r); },
               [&](caf::error& err) { FAIL(sys.render(err)); });
    return result;
  }

  token_status snapshot(const token_actor& tok) {
    token_status result;
    caf::scoped_actor self{sys};
    auto rh = self->request(tok, caf::infinite, atom::snapshot_v);
    sched.run();
    rh.receive([&](token_status& st) { result = std::move(st); },
               [&](caf::error& err) { FAIL(sys.render(err)); });
    return result;
  }
};

} // namespace keepa::test
