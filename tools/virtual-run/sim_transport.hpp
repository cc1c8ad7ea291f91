// The in-process transport: keepa-sim's model called on the KEEPA CLIENT's
// actor clock, answers delivered after the model's latency as delayed
// messages. On the test coordinator this runs days of Keepa traffic in
// virtual time. It realizes what the HTTP server would: latency, timeouts
// (the server holds the request, the client gives up at its own timeout
// or sees the close), resets, and the size limit.

#pragma once

#include <cstdint>
#include <memory>

#include "actors/client/transport.hpp"
#include "tools/keepa-sim/model.hpp"

namespace keepa {

/// A transport factory for `client_config::make_transport`: the model's
/// clock reads `start_unix_ms` when the client starts and follows the
/// client's actor clock from there.
transport_factory sim_transport_factory(std::shared_ptr<sim::model> m,
                                        int64_t start_unix_ms);

} // namespace keepa
