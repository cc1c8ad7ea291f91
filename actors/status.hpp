// What an actor can tell about itself for keepa-status.

#pragma once

#include <cstdint>

#include <caf/settings.hpp>

namespace keepa {

/// Adds the number of messages waiting in `self`'s mailbox as "mailbox".
/// Call it only from the actor's own handler (e.g. its `status` handler):
/// reading a mailbox moves messages between CAF's internal queues, which
/// only the owner may do.
template<class Self>
void put_mailbox(Self self, caf::settings& xs) {
  xs.emplace("mailbox", static_cast<int64_t>(self->mailbox().size()));
}

} // namespace keepa
