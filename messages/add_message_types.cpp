// The only place that sees every message type at once.

#include "messages/fwd.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/typed_actor.hpp>

#include "messages/actors.hpp"
#include "messages/error.hpp"
#include "messages/introspection.hpp"
#include "messages/keepa.hpp"
#include "messages/pipeline.hpp"
#include "messages/storage.hpp"
#include "messages/token.hpp"

namespace keepa {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::keepa_types>();
  cfg.add_message_types<caf::id_block::keepa_actors>();
  cfg.add_error_category(caf::atom("keepa"),
                         [](uint8_t code, caf::atom_value,
                            const caf::message& ctx) -> std::string {
                           std::string result = "keepa::";
                           result += to_string(static_cast<ec>(code));
                           if (!ctx.empty()) {
                             result += ": ";
                             result += to_string(ctx);
                           }
                           return result;
                         });
}

} // namespace keepa
