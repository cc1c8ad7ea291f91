// The stop protocol every stage shares. `stop` means: take no new work,
// finish what is in flight, then answer. A stage is stoppable when nothing
// is sent and no answer from TOKEN is outstanding; a pending recharge-wait
// does not count (its retry still presents the ticket, so that TOKEN's
// queue does not keep a dead ticket, and the grant it brings is released
// unused). A grant that arrives after `stop` is released unused.

#pragma once

#include <vector>

#include <caf/response_promise.hpp>
#include <caf/result.hpp>

namespace keepa {

class stop_protocol {
public:
  /// Whether `stop` arrived.
  bool stopping() const {
    return stopping_;
  }

  /// The `stop` handler: answers at once if `stoppable`, else once
  /// `settle` finds the stage stoppable.
  template<class Self>
  caf::result<caf::ok_atom> request_stop(Self self, bool stoppable) {
    stopping_ = true;
    if (stoppable)
      return caf::ok_atom::value;
    waiters_.push_back(self->make_response_promise());
    return waiters_.back();
  }

  /// Answers the waiting `stop` requests if the stage is now `stoppable`;
  /// call it whenever work in flight ends.
  void settle(bool stoppable) {
    if (!stopping_ || !stoppable || waiters_.empty())
      return;
    for (auto& rp : waiters_)
      rp.deliver(caf::ok_atom::value);
    waiters_.clear();
  }

private:
  bool stopping_ = false;
  std::vector<caf::response_promise> waiters_;
};

/// Settles a stage's stop with its own `stoppable()`.
template<class Self>
void settle_stop(Self self) {
  auto& st = self->state;
  st.stop.settle(st.stoppable());
}

/// The `stop` handler of a stage with `stop` and `stoppable()`.
template<class Self>
caf::result<caf::ok_atom> request_stop(Self self) {
  auto& st = self->state;
  return st.stop.request_stop(self, st.stoppable());
}

} // namespace keepa
