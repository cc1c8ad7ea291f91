// The keepa error codes. Errors are values: plain code returns
// caf::expected<T>, handlers return caf::result<T>.

#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace keepa {

/// Everything that can go wrong in keepa-pipeline.
enum class ec : uint8_t {
  /// Not an error.
  none = 0,
  /// A configuration value is out of range or unknown.
  invalid_config,
  /// A requested profile does not exist.
  unknown_profile,
  /// A single request costs more than the bucket can ever afford above the
  /// floor (cap − floor); the caller must split it.
  cost_exceeds_budget,
  /// A ticket or grant id the token actor does not know.
  unknown_ticket,
  /// No balance observation yet and no way to get one.
  no_observation,
  /// Keepa answered 429 NOT_ENOUGH_TOKEN; ask the token actor again.
  not_enough_tokens,
  /// Keepa answered 400 REQUEST_REJECTED.
  request_rejected,
  /// Keepa answered 402 PAYMENT_REQUIRED (missing or unknown key).
  payment_required,
  /// Keepa answered 404 or 405.
  not_found,
  /// A 5xx answer, a timeout or a reset that survived all retries.
  server_error,
  /// The transport failed (connect, TLS, reset).
  transport_error,
  /// The answer was not valid JSON or missed required fields.
  malformed_answer,
  /// The answer exceeded the configured size limit.
  answer_too_large,
  /// The API key is missing or unreadable.
  missing_key,
  /// The database could not be opened or written.
  storage_error,
  /// The database schema is newer than this program understands.
  schema_too_new,
  /// The database is locked and stayed locked through all retries.
  storage_busy,
  /// The actor is shutting down and takes no new work.
  shutting_down,
  /// The database server cannot be reached right now (connection lost,
  /// server restarting); reconnecting later may succeed.
  storage_unavailable,
  /// Keepa refused the API key (401, 402 or 403): the KEEPA CLIENT ends
  /// with it after keepa.client.max-auth-failures in a row.
  key_refused,
};

/// @relates ec
const char* to_string(ec x);

/// Renders a keepa error with its context for humans; never contains the key.
std::string render(const caf::error& err);

} // namespace keepa

CAF_ERROR_CODE_ENUM(keepa::ec, "keepa")
