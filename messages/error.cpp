#include "messages/error.hpp"

#include <caf/message.hpp>

#include "messages/keepa.hpp"
#include "messages/storage.hpp"
#include "messages/token.hpp"

namespace keepa {

const char* to_string(ec x) {
  switch (x) {
    case ec::none: return "none";
    case ec::invalid_config: return "invalid_config";
    case ec::unknown_profile: return "unknown_profile";
    case ec::cost_exceeds_budget: return "cost_exceeds_budget";
    case ec::unknown_ticket: return "unknown_ticket";
    case ec::no_observation: return "no_observation";
    case ec::not_enough_tokens: return "not_enough_tokens";
    case ec::request_rejected: return "request_rejected";
    case ec::payment_required: return "payment_required";
    case ec::not_found: return "not_found";
    case ec::server_error: return "server_error";
    case ec::transport_error: return "transport_error";
    case ec::malformed_answer: return "malformed_answer";
    case ec::answer_too_large: return "answer_too_large";
    case ec::missing_key: return "missing_key";
    case ec::storage_error: return "storage_error";
    case ec::schema_too_new: return "schema_too_new";
    case ec::storage_busy: return "storage_busy";
    case ec::shutting_down: return "shutting_down";
    case ec::storage_unavailable: return "storage_unavailable";
    case ec::key_refused: return "key_refused";
  }
  return "unknown";
}

std::string render(const caf::error& err) {
  if (!err)
    return "no error";
  if (err.category() != caf::atom("keepa"))
    return to_string(err);
  std::string result = to_string(static_cast<ec>(err.code()));
  auto& ctx = err.context();
  // The context is a message of strings (or other values); render plainly.
  for (size_t i = 0; i < ctx.size(); ++i) {
    result += i == 0 ? ": " : " ";
    if (ctx.match_element<std::string>(i))
      result += ctx.get_as<std::string>(i);
    else
      result += ctx.cvals()->stringify(i);
  }
  return result;
}

const char* to_string(stage x) {
  switch (x) {
    case stage::commit: return "commit";
    case stage::peek: return "peek";
    case stage::scan: return "scan";
    case stage::update: return "update";
  }
  return "unknown";
}

bool from_string(const std::string& str, stage& x) {
  for (auto s : {stage::commit, stage::peek, stage::scan, stage::update})
    if (str == to_string(s)) {
      x = s;
      return true;
    }
  return false;
}

const char* to_string(write_stage x) {
  switch (x) {
    case write_stage::commit: return "commit";
    case write_stage::light_update: return "light_update";
    case write_stage::rescue: return "rescue";
  }
  return "unknown";
}

const char* to_string(transfer_failure x) {
  switch (x) {
    case transfer_failure::none: return "none";
    case transfer_failure::connect: return "connect";
    case transfer_failure::timeout: return "timeout";
    case transfer_failure::reset: return "reset";
    case transfer_failure::too_large: return "too_large";
  }
  return "unknown";
}

} // namespace keepa
